/**
 * A device instance copied the way a range move copies it — the image (root pointers,
 * `meta` and `latest` by pointer) plus the readings in chunks after the copy's last
 * element — equals its source in every byte `mdb_dump` prints, for both databases,
 * although the source was written in other batches than the copy and received a late
 * reading older than its newest. A stale copy with another root is refused.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyImage, checkImage, exportImage, sameImage, type InstanceImage } from '../../../../src/core/telemetry/instance-image.js';
import { applyRecords, exportRecords } from '../../../../src/core/telemetry/records.js';
import { createPool, type DevicePool } from '../../../../src/devices/pool/index.js';
import { isLmjError } from '../../../../src/errors.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { gatewayRecords, ingestor, publish } from '../../sync/helpers.js';

const dump = (dir: string, db: string): string => execFileSync('mdb_dump', ['-s', db, dir]).toString();

/** Copies chunk by chunk after the copy's last element (`fromStart`: from the first element, as a node does when the counts differ). */
async function copy(from: DevicePool, to: DevicePool, id: string, chunk: number, fromStart = false): Promise<void> {
  let after: Buffer | undefined;
  for (;;) {
    if (!fromStart) after = await to.use(id, (s) => s.read((t) => { const img = exportImage(t); return img === null ? undefined : t.setRange(img.readings, { reverse: true, limit: 1 })[0]; }), { create: true });
    const { image, records } = await from.use(id, (s) => s.read((t) => ({ image: exportImage(t), records: exportRecords(t, after, chunk) })));
    await to.use(id, (s) => s.writeAsync((t) => {
      applyImage(t, checkImage(structuredClone(image), id));
      applyRecords(t, id, records);
    }), { create: true });
    if (records.length < chunk) return;
    after = records[records.length - 1]!.element;
  }
}

const count = (p: DevicePool): Promise<number> => p.use('d1', (s) => s.read((t) => exportRecords(t, undefined, 1000).length));

describe('instance image', () => {
  it('a chunked copy is byte-identical to its source (mdb_dump main and set)', async () => {
    const dir = tmpDir();
    const ing = await ingestor(join(dir, 'gw'));
    await publish(ing, 'd1', 0, 60);
    const recs = await gatewayRecords(ing, 'd1');
    await ing.close();
    const a = createPool({ dataDir: join(dir, 'a'), durability: 'fast' });
    const b = createPool({ dataDir: join(dir, 'b'), durability: 'fast' });
    // The source in batches of 7, the 5th reading arriving last (older than the newest).
    const late = recs[4]!;
    const early = recs.filter((r) => r !== late);
    for (let i = 0; i < early.length; i += 7) await a.use('d1', (s) => s.writeAsync((t) => applyRecords(t, 'd1', early.slice(i, i + 7))), { create: true });
    await copy(a, b, 'd1', 10);
    await a.use('d1', (s) => s.writeAsync((t) => applyRecords(t, 'd1', [late])));
    // A delta after the copy's last element misses the late reading (the counts differ) …
    await copy(a, b, 'd1', 10);
    expect([await count(a), await count(b)]).toEqual([60, 59]);
    // … so the copy runs again from the first element, idempotently.
    await copy(a, b, 'd1', 10, true);
    expect(await count(b)).toBe(60);
    // A caught-up copy has the source's image (a pull then skips its write); a new reading changes the source's.
    const imageOf = (p: DevicePool): Promise<InstanceImage> => p.use('d1', (s) => s.read((t) => exportImage(t)!));
    expect(sameImage(await imageOf(a), await imageOf(b))).toBe(true);
    const extra = await ingestor(join(dir, 'gw'));
    await publish(extra, 'd1', 60, 1);
    const next = (await gatewayRecords(extra, 'd1')).slice(60);
    await extra.close();
    await a.use('d1', (s) => s.writeAsync((t) => applyRecords(t, 'd1', next)));
    expect(sameImage(await imageOf(a), await imageOf(b))).toBe(false);
    await copy(a, b, 'd1', 10);
    await a.close();
    await b.close();
    for (const db of ['main', 'set']) {
      const src = dump(join(dir, 'a', 'devices', 'd1'), db);
      expect(src.split('\n').length).toBeGreaterThan(100);
      expect(dump(join(dir, 'b', 'devices', 'd1'), db) === src, db).toBe(true);
    }
  });

  it('refuses an image onto a copy with another root', async () => {
    const dir = tmpDir();
    const ing = await ingestor(join(dir, 'gw'));
    await publish(ing, 'd1', 0, 3);
    const recs = await gatewayRecords(ing, 'd1');
    await ing.close();
    const a = createPool({ dataDir: join(dir, 'a'), durability: 'fast' });
    const b = createPool({ dataDir: join(dir, 'b'), durability: 'fast' });
    for (const p of [a, b]) await p.use('d1', (s) => s.writeAsync((t) => applyRecords(t, 'd1', recs)), { create: true });
    const image = (await a.use('d1', (s) => s.read((t) => exportImage(t))))!;
    const err = await b.use('d1', (s) => s.writeAsync((t) => applyImage(t, image))).catch((e: unknown) => e);
    expect(isLmjError(err, 'BAD_BATCH')).toBe(true);
    expect(() => checkImage({ ...image, deviceId: 'd2' }, 'd1')).toThrow(/names another device/);
    await a.close();
    await b.close();
  });
});
