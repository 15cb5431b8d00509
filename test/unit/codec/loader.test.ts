/**
 * The loader against a real copy of the codec sources with no addon built:
 * LMJ_CODEC=native must fail loudly, auto must fall back and say why.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecInfo, getCodec } from '../../../src/codec/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const ROOT = resolve(import.meta.dirname, '../../..');

function runWithoutAddon(env: Record<string, string>): { out: string; err: string } {
  const dir = tmpDir('lmj-codec-loader-');
  mkdirSync(join(dir, 'src'));
  cpSync(join(ROOT, 'src/codec'), join(dir, 'src/codec'), { recursive: true });
  cpSync(join(ROOT, 'src/errors.ts'), join(dir, 'src/errors.ts'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'lmj-edge', type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(
    join(dir, 'probe.ts'),
    `import { getCodec, codecInfo } from './src/codec/index.js';
     try { const c = getCodec(); console.log(JSON.stringify({ kind: c.kind, info: codecInfo() })); }
     catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: String(e.cause) })); }`,
  );
  const r = execFileSync(process.execPath, ['--import', 'tsx', 'probe.ts'], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { out: r, err: '' };
}

describe('codec loader', () => {
  it('LMJ_CODEC=native without an addon throws CODEC_UNAVAILABLE with the load error as cause', () => {
    const r = JSON.parse(runWithoutAddon({ LMJ_CODEC: 'native' }).out) as { code: string; cause: string };
    expect(r.code).toBe('CODEC_UNAVAILABLE');
    expect(r.cause).toMatch(/No native build was found/);
  });

  it('auto without an addon falls back to portable and reports why', () => {
    const r = JSON.parse(runWithoutAddon({ LMJ_CODEC: 'auto' }).out) as { kind: string; info: { fallbackReason?: string } };
    expect(r.kind).toBe('portable');
    expect(r.info.fallbackReason).toMatch(/No native build was found/);
  });

  it('an unknown LMJ_CODEC value is refused', () => {
    const r = JSON.parse(runWithoutAddon({ LMJ_CODEC: 'fast' }).out) as { code: string };
    expect(r.code).toBe('CODEC_UNAVAILABLE');
  });

  it('in this checkout the active codec matches LMJ_CODEC', () => {
    const want = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';
    expect(getCodec().kind).toBe(want);
    expect(codecInfo().kind).toBe(want);
  });
});
