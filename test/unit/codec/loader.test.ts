/**
 * The loader against real copies of the codec sources with no addon built:
 * LMJ_CODEC=native must fail loudly, auto must fall back and say why.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecInfo, getCodec } from '../../../src/codec/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The LMJ_CODEC value of each case; each gets its own copy of the sources. */
const CASES = { native: 'native', auto: 'auto', unknown: 'fast' } as const;
type Case = keyof typeof CASES;
type Outcome = { kind?: string; info?: { fallbackReason?: string }; code?: string; message?: string; cause?: string };

/**
 * One package copy per case (src/codec and src/errors.ts, no addon), loaded by one tsx
 * process: each copy is its own module instance, so its loader reads LMJ_CODEC and tries
 * the addon afresh, as in a process of its own. One tsx start instead of three: each is
 * ~10 s under qemu.
 */
async function runWithoutAddon(dir: string): Promise<Record<Case, Outcome>> {
  for (const name of Object.keys(CASES)) {
    const copy = join(dir, name);
    mkdirSync(join(copy, 'src'), { recursive: true });
    cpSync(join(ROOT, 'src/codec'), join(copy, 'src/codec'), { recursive: true });
    cpSync(join(ROOT, 'src/errors.ts'), join(copy, 'src/errors.ts'));
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: 'lmj-edge', type: 'module' }));
  }
  // tsx for the probe, node-gyp-build for the copies (found above each copy's own package.json).
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'probe.ts'),
    `const cases = ${JSON.stringify(CASES)};
     const out = {};
     for (const [name, value] of Object.entries(cases)) {
       process.env.LMJ_CODEC = value;
       const { getCodec, codecInfo } = await import('./' + name + '/src/codec/index.js');
       try { const c = getCodec(); out[name] = { kind: c.kind, info: codecInfo() }; }
       catch (e) { out[name] = { code: e.code, message: e.message, cause: String(e.cause) }; }
     }
     console.log(JSON.stringify(out));`,
  );
  const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'probe.ts'], { cwd: dir, encoding: 'utf8' });
  return JSON.parse(r.stdout) as Record<Case, Outcome>;
}

describe('codec loader', () => {
  let dir: string;
  let probed: Record<Case, Outcome>;
  // A tsx start takes ~10 s under qemu, several times that on a loaded machine: the hook gets a test's budget.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmj-codec-loader-'));
    probed = await runWithoutAddon(dir);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('LMJ_CODEC=native without an addon throws CODEC_UNAVAILABLE with the load error as cause', () => {
    expect(probed.native.code).toBe('CODEC_UNAVAILABLE');
    expect(probed.native.cause).toMatch(/No native build was found/);
  });

  it('auto without an addon falls back to portable and reports why', () => {
    expect(probed.auto.kind).toBe('portable');
    expect(probed.auto.info?.fallbackReason).toMatch(/No native build was found/);
  });

  it('an unknown LMJ_CODEC value is refused', () => {
    expect(probed.unknown.code).toBe('CODEC_UNAVAILABLE');
    expect(probed.unknown.message).toMatch(/LMJ_CODEC must be native, portable or auto, got "fast"/);
  });

  it('in this checkout the active codec matches LMJ_CODEC', () => {
    const want = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';
    expect(getCodec().kind).toBe(want);
    expect(codecInfo().kind).toBe(want);
  });
});
