/** Salvage of a corrupt instance: everything readable is copied, in child processes; the losses are reported. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles } from '../../../../src/core/lmdb-env.js';
import { salvageInstance } from '../../../../src/core/verify/index.js';
import { overwriteAllDataPages, overwriteMiddleLeaf, writeInstance } from '../../../helpers/corrupt-instance.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

async function mainEntries(dir: string): Promise<Map<string, string>> {
  const h = openHandles(dir, 'safe', DEFAULT_MAP_SIZE, true);
  const out = new Map<string, string>();
  for (const { key, value } of h.main.getRange({}) as Iterable<{ key: Buffer; value: Buffer }>) out.set(key.toString('hex'), value.toString('hex'));
  await closeHandles(h);
  return out;
}

describe('salvageInstance', () => {
  it('copies everything around an overwritten main leaf, byte for byte, and reports the skipped range', { timeout: 180_000 }, async () => {
    const dir = tmpDir();
    const source = join(dir, 'src');
    const original = await writeInstance(source, 3000);
    overwriteMiddleLeaf(source, 'main');
    const dest = join(dir, 'out');
    const r = await salvageInstance(source, dest);

    expect(r.verdict.status).toBe('ok');
    expect(r.complete).toBe(false);
    expect(r.main.expected).toBe(6000);
    expect(r.main.lost.length).toBeGreaterThanOrEqual(1);
    const gap = r.main.lost[0]!;
    expect(gap.after).toMatch(/^[0-9a-f]+$/);
    expect(gap.before).toMatch(/^[0-9a-f]+$/);
    // One 4 KiB leaf holds well under 200 of these entries; the skip is at most about twice that.
    expect(r.main.copied).toBeGreaterThan(6000 - 400);
    expect(r.main.copied).toBeLessThan(6000);
    // The set database was intact: all of it, markers included.
    expect(r.set).toMatchObject({ expected: 9000, copied: 9000, lost: [] });

    const copied = await mainEntries(dest);
    expect(copied.size).toBe(r.main.copied);
    for (const [k, v] of copied) expect(original.get(k)).toBe(v);
    // What is missing lies inside the reported range.
    const missing = [...original.keys()].filter((k) => !copied.has(k));
    expect(missing.length).toBe(6000 - r.main.copied);
    for (const k of missing) {
      expect(k > gap.after!).toBe(true);
      expect(k < gap.before!).toBe(true);
    }
  });

  it('reports ghosts when set registrations were lost with an overwritten set leaf', { timeout: 180_000 }, async () => {
    const dir = tmpDir();
    const source = join(dir, 'src');
    await writeInstance(source, 3000);
    overwriteMiddleLeaf(source, 'set');
    const r = await salvageInstance(source, join(dir, 'out'));
    expect(r.verdict.status).toBe('ok');
    expect(r.main).toMatchObject({ expected: 6000, copied: 6000, lost: [] });
    expect(r.set.copied).toBeLessThan(9000);
    expect(r.set.lost.length).toBeGreaterThanOrEqual(1);
    expect(r.ghosts).toBeGreaterThan(0);
  });

  it('yields a valid empty instance and reports everything lost when no data page is readable', { timeout: 180_000 }, async () => {
    const dir = tmpDir();
    const source = join(dir, 'src');
    await writeInstance(source, 3000);
    overwriteAllDataPages(source);
    const r = await salvageInstance(source, join(dir, 'out'));
    expect(r.complete).toBe(false);
    expect(r.main).toMatchObject({ copied: 0, lost: [{ after: null, before: null }] });
    expect(r.set).toMatchObject({ copied: 0, lost: [{ after: null, before: null }] });
    expect(r.verdict).toMatchObject({ status: 'ok', main: 0, set: 0 });
  });

  it('refuses an existing destination and never writes to the source', async () => {
    const dir = tmpDir();
    const dest = join(dir, 'out');
    mkdirSync(dest);
    await expect(salvageInstance(join(dir, 'src'), dest)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(existsSync(join(dir, 'src'))).toBe(false);
  });
});
