/**
 * No thrash with the journal: a fleet far larger than the instance pool, each device's
 * messages arriving interleaved with every other device's, is applied with about one
 * instance open per device group, not one per message (./apply-order.ts holds a device
 * back until its group is worth an open; the pool closes idle instances of devices with
 * no queued work first). Real LMDB files, `safe` durability; most messages wait unflattened.
 */
import { describe, expect, it } from 'vitest';
import type { IngestResult } from '../../../../src/gateway/ingest/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, json, tel } from './helpers.js';

const DEVICES = 240;
/** Per device: past the applier's minimum group (16), so groups start while messages still arrive. */
const PER_DEVICE = 20;
const POOL = 12;

describe('journal apply with many more devices than open instances', () => {
  it('opens each device about once per group of its messages, and stores every acked message', async () => {
    const stored: IngestResult[] = [];
    let allStored!: () => void;
    const done = new Promise<void>((r) => (allStored = r));
    const ing = await ingestor(tmpDir(), {
      durability: 'safe',
      // Past 500 queued, messages are held as payloads and flattened again at their commit.
      journal: { keepFlat: 500 },
      pool: { maxOpen: POOL },
      hooks: {
        result: (r) => {
          if (r.status === 'stored' && stored.push(r) === DEVICES * PER_DEVICE) allStored();
        },
      },
    });
    try {
      // Round robin over the fleet, one message per device per round, the next round only once
      // the applier has nothing in flight: a fleet reporting on a common period, slower than
      // the gateway applies. Applying whatever is queued at once opens an instance per message.
      for (let k = 0; k < PER_DEVICE; k++) {
        const acks = await Promise.all(
          Array.from({ length: DEVICES }, (_, d) => ing.submit({ topic: tel(`fleet-${d}`), payload: json({ k, d }), qos: 1 })),
        );
        expect(acks.every((r) => r.status === 'accepted')).toBe(true);
        while ((ing.stats().journal?.applying ?? 0) > 0) await new Promise((r) => setImmediate(r));
      }
      const before = ing.stats().pool.opens;
      // Groups of PER_DEVICE >= 16 started on their own while the rounds came in.
      expect(before).toBeGreaterThanOrEqual(DEVICES);
      // What is left (a few messages per device) is drained, one open per device.
      await ing.flush();
      await done;
      expect(stored).toHaveLength(DEVICES * PER_DEVICE);
      const pool = ing.stats().pool;
      // One message per open (the fleet in turn through a 12-instance LRU) would be 4,800 opens.
      expect(pool.opens / stored.length).toBeLessThanOrEqual(3 / PER_DEVICE);
      expect(pool.open).toBeLessThanOrEqual(POOL);
      // Every device holds all of its messages, once.
      for (const d of [0, 117, DEVICES - 1]) {
        const page = await ing.readings(`fleet-${d}`, { limit: 100 });
        expect(page.readings.map((r) => r.values['k']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: PER_DEVICE }, (_, k) => k));
      }
    } finally {
      await ing.close();
    }
  }, 60_000);
});
