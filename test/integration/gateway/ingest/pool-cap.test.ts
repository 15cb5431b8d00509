/**
 * Device commits in flight are capped at the pool's open-instance cap: with more devices
 * than instances, no commit waits in the pool with its group already cut, and each
 * device's queued messages go into one open.
 */
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, json, tel } from './helpers.js';

describe('ingest with more devices than open instances', () => {
  it('never waits for a pool slot and opens each device once for its queued messages', async () => {
    const ing = await ingestor(tmpDir(), { pool: { maxOpen: 3 } });
    try {
      const devices = 30;
      const rs = await Promise.all(
        Array.from({ length: devices * 2 }, (_, i) => ing.submit({ topic: tel(`cap-${i % devices}`), payload: json({ i }), qos: 1 })),
      );
      expect(rs.filter((r) => r.status === 'stored')).toHaveLength(devices * 2);
      const pool = ing.stats().pool;
      // Before the cap, 1,024 commits could be in flight: 27 of them waited for one of the 3 slots.
      expect(pool.waits).toBe(0);
      expect(pool.opens).toBe(devices);
      expect(pool.open).toBeLessThanOrEqual(3);
    } finally {
      await ing.close();
    }
  });
});
