/**
 * The verifier on an instance trimmed by retention without compaction: LMDB's `set`
 * header then counts more than the instance holds (one count per deleted reading that
 * had members), which is not corruption; an overwritten `set` leaf in such an instance
 * still is. `lmj-edge audit` (which runs the verifier first) agrees, and salvage calls a
 * copy of it complete.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles } from '../../../../src/core/lmdb-env.js';
import { salvageInstance, verifyInstance } from '../../../../src/core/verify/index.js';
import { createPool } from '../../../../src/devices/pool/index.js';
import { COMPACT_MIN_SHARE, RetentionRunner } from '../../../../src/gateway/retention/runner.js';
import { overwriteMiddleLeaf } from '../../../helpers/corrupt-instance.js';
import { CLI, ROOT } from '../../../helpers/daemon.js';
import { writeReadings } from '../../../helpers/telemetry-data.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const run = promisify(execFile);
const T0 = 1_700_000_000_000;
const N = 600;
const EXPIRED = 50;

/** A device of N readings (1 s apart) of which retention expired the oldest EXPIRED, not compacted. */
async function trimmed(): Promise<{ dataDir: string; dir: string; header: number }> {
  const dataDir = tmpDir();
  const payloads = Array.from({ length: N }, (_, i) => ({ payload: { seq: i, env: { temp: 20 + (i % 10) } }, receivedAt: T0 + i * 1000 }));
  await writeReadings(dataDir, 'd1', payloads);
  const pool = createPool({ dataDir, durability: 'fast' });
  try {
    const runner = new RetentionRunner({
      pool,
      settings: { defaults: { maxAgeMs: (N - EXPIRED) * 1000, maxBytes: undefined, dropUnsynced: false }, devices: new Map(), intervalMs: 0, batchReadings: 200, dutyPercent: 100 },
      listDevices: () => ['d1'],
    });
    const [r] = await runner.run(undefined, T0 + N * 1000);
    expect(EXPIRED / N).toBeLessThan(COMPACT_MIN_SHARE);
    expect(r).toMatchObject({ deviceId: 'd1', expired: EXPIRED, compacted: false });
  } finally {
    await pool.close();
  }
  const dir = join(dataDir, 'devices', 'd1');
  const h = openHandles(dir, 'safe', DEFAULT_MAP_SIZE, true);
  const header = h.set.getStats().entryCount;
  await closeHandles(h);
  return { dataDir, dir, header };
}

describe('verifying an instance trimmed by retention (not compacted)', () => {
  it('is ok although the set header counts at least one entry per expired reading more than it holds', { timeout: 60_000 }, async () => {
    const { dataDir, dir, header } = await trimmed();
    const v = await verifyInstance(dir);
    expect(v.status).toBe('ok');
    if (v.status !== 'ok') return;
    // The condition the old exact check called corruption is really there.
    expect(header - v.set).toBeGreaterThanOrEqual(EXPIRED);

    // Salvage copies all of it and calls it complete (nothing lost), though fewer than the header.
    const r = await salvageInstance(dir, join(dataDir, 'copy'));
    expect(r).toMatchObject({ complete: true, main: { lost: [], copied: v.main }, set: { lost: [], copied: v.set, expected: header }, verdict: { status: 'ok' } });

    const audit = await run(process.execPath, [CLI, 'audit', 'd1', '--data', dataDir], { cwd: ROOT, env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'silent' } });
    expect(JSON.parse(audit.stdout)).toMatchObject({ device: 'd1', instance: { status: 'ok', set: v.set }, ghosts: [] });
  });

  it('is corrupt when a set leaf of it is overwritten (the walk ends early, dies or reads garbage)', { timeout: 60_000 }, async () => {
    const { dir } = await trimmed();
    overwriteMiddleLeaf(dir, 'set');
    expect(await verifyInstance(dir)).toMatchObject({ status: 'corrupt', reason: expect.any(String) });
  });
});
