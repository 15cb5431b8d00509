/**
 * The loader against a real copy of the codec sources with no addon built:
 * LMJ_CODEC=native must fail loudly, auto must fall back and say why.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, type TestContext } from 'vitest';
import { codecInfo, getCodec } from '../../../src/codec/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Runs the probe in its own copy and process; async, so the three cases run at once (each is a whole tsx start, ~10 s under qemu). */
async function runWithoutAddon(ctx: TestContext, env: Record<string, string>): Promise<{ out: string; err: string }> {
  // Not tmpDir(): a concurrent test must register its cleanup on its own context.
  const dir = mkdtempSync(join(tmpdir(), 'lmj-codec-loader-'));
  ctx.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
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
  // Niced: three at once must not starve vitest's own processes (under qemu its RPC times out).
  const r = await promisify(execFile)('nice', ['-n', '10', process.execPath, '--import', 'tsx', 'probe.ts'], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { out: r.stdout, err: r.stderr };
}

describe('codec loader', () => {
  // Concurrent cases assert through their own context's expect (vitest's rule for concurrent tests).
  it.concurrent('LMJ_CODEC=native without an addon throws CODEC_UNAVAILABLE with the load error as cause', async (ctx) => {
    const r = JSON.parse((await runWithoutAddon(ctx, { LMJ_CODEC: 'native' })).out) as { code: string; cause: string };
    ctx.expect(r.code).toBe('CODEC_UNAVAILABLE');
    ctx.expect(r.cause).toMatch(/No native build was found/);
  });

  it.concurrent('auto without an addon falls back to portable and reports why', async (ctx) => {
    const r = JSON.parse((await runWithoutAddon(ctx, { LMJ_CODEC: 'auto' })).out) as { kind: string; info: { fallbackReason?: string } };
    ctx.expect(r.kind).toBe('portable');
    ctx.expect(r.info.fallbackReason).toMatch(/No native build was found/);
  });

  it.concurrent('an unknown LMJ_CODEC value is refused', async (ctx) => {
    const r = JSON.parse((await runWithoutAddon(ctx, { LMJ_CODEC: 'fast' })).out) as { code: string };
    ctx.expect(r.code).toBe('CODEC_UNAVAILABLE');
  });

  it('in this checkout the active codec matches LMJ_CODEC', () => {
    const want = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';
    expect(getCodec().kind).toBe(want);
    expect(codecInfo().kind).toBe(want);
  });
});
