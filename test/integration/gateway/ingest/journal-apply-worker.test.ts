/**
 * The journal's applier with the device-apply worker (`journal.applyWorker`): the device
 * commits run in the worker thread; a worker lost while groups are in flight is replaced
 * and those groups (acked, durable in the journal, never checkpointed) are applied again
 * from memory, exactly once; a restart then has nothing to replay. The suites of the
 * journal run unchanged with the worker via `LMJ_EDGE_INGEST_APPLY_WORKER=on`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ApplyWorker } from '../../../../src/devices/apply-worker/index.js';
import type { LmjError } from '../../../../src/errors.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, json, tel } from './helpers.js';

const worker = new ApplyWorker();
afterAll(() => worker.close());

describe('journal applies in the device-apply worker', () => {
  it('a worker lost with groups in flight is replaced; every acked reading is stored exactly once', async () => {
    const dir = tmpDir();
    const errors: LmjError[] = [];
    const ing = await ingestor(dir, { durability: 'safe', journal: { applyInFlight: 2, applyWorker: worker }, hooks: { error: (e) => errors.push(e) } });
    try {
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => ing.submit({ topic: tel(`w-${i % 10}`), payload: json({ i, env: { t: i % 7 } }), qos: 1 })));
      expect(rs.every((r) => r.status === 'accepted')).toBe(true);
      // The thread starts with its first group: count starts from when groups are in flight.
      while (worker.stats().inFlight === 0) await new Promise<void>((r) => setImmediate(r));
      const before = worker.stats();
      await worker.terminate();
      await ing.flush();
      const after = ing.stats();
      expect(after.journal?.worker).toMatchObject({ starts: before.starts + 1, inFlight: 0 });
      expect(after.journal?.worker?.lost).toBeGreaterThan(before.lost);
      expect(errors.some((e) => e.code === 'APPLY_WORKER_LOST')).toBe(true);
      expect([after.stored + after.duplicates, after.rejected]).toEqual([200, 0]);
      const list = await ing.listDevices({ limit: 100 });
      expect(list.devices.map((d) => d.readings)).toEqual(Array(10).fill(20));
      expect((await ing.readings('w-3', { limit: 100 })).readings.map((r) => r.values.i).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, k) => 3 + 10 * k));
      expect((await ing.deadLetters()).deadLetters).toEqual([]);
    } finally {
      await ing.close();
    }
    const again = await ingestor(dir, { durability: 'safe', journal: { applyWorker: worker } });
    try {
      expect(again.stats().journal?.replayed).toBe(0);
      expect((await again.deviceSummary('w-9')).readings).toBe(20);
    } finally {
      await again.close();
    }
  });
});
