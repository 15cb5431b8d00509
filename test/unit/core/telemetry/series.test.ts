import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { openStore } from '../../../../src/core/index.js';
import type { LmjStore } from '../../../../src/core/types.js';
import { applyReadings, messageIdentity, type ReadingInput } from '../../../../src/core/telemetry/index.js';
import { SeriesScan, seriesOf } from '../../../../src/core/telemetry/series.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { errCode } from '../helpers.js';

const codec = getCodec();

function open(deviceId: string): LmjStore {
  return openStore(tmpDir(), { durability: 'fast', partition: codec.partitionOf(deviceId) });
}

function input(payload: unknown, receivedAt: number): ReadingInput {
  const raw = Buffer.from(JSON.stringify(payload));
  return { flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt };
}

describe('seriesOf', () => {
  it('aggregates min/avg/max/count per bucket over [from, to)', async () => {
    const store = open('s');
    try {
      // ts 1000..1009 with t = i; bucket width 5 ms over [1000, 1010).
      const inputs = Array.from({ length: 10 }, (_, i) => input({ t: i, env: { ok: i % 2 === 0 }, s: 'x', n: i }, 1000 + i));
      store.write((txn) => applyReadings(txn, 's', inputs));
      const s = store.read((txn) => seriesOf(txn, { from: 1000, to: 1010, buckets: 2, fields: ['t', 'env.ok', 's', 'absent'] }));
      expect(s.readings).toBe(10);
      expect(s.t).toEqual([1000, 1005]);
      expect(s.bucketMs).toBe(5);
      expect(s.fields['t']).toEqual({ min: [0, 5], avg: [2, 7], max: [4, 9], count: [5, 5], nonNumeric: 0 });
      expect(s.fields['env.ok']?.avg).toEqual([0.6, 0.4]);
      expect(s.fields['s']).toMatchObject({ count: [0, 0], nonNumeric: 10, min: [null, null] });
      expect(s.fields['absent']).toMatchObject({ count: [0, 0], nonNumeric: 0 });
      // `to` is exclusive, `from` inclusive.
      const part = store.read((txn) => seriesOf(txn, { from: 1003, to: 1007, buckets: 4, fields: ['t'] }));
      expect(part.readings).toBe(4);
      expect(part.fields['t']?.count).toEqual([1, 1, 1, 1]);
      expect(part.fields['t']?.min).toEqual([3, 4, 5, 6]);
    } finally {
      await store.close();
    }
  });

  it('walks more readings than one chunk and leaves empty buckets null', async () => {
    const store = open('big');
    try {
      const n = 5000;
      // Readings in the first and the last third of [0, 30000) only.
      const inputs = Array.from({ length: n }, (_, i) => input({ v: i }, i < n / 2 ? i : 25_000 + i));
      store.write((txn) => applyReadings(txn, 'big', inputs));
      const s = store.read((txn) => seriesOf(txn, { from: 0, to: 30_000, buckets: 3, fields: ['v'] }));
      expect(s.readings).toBe(n);
      expect(s.fields['v']?.count).toEqual([n / 2, 0, n / 2]);
      expect(s.fields['v']?.avg[1]).toBeNull();
      expect(s.fields['v']?.max[2]).toBe(n - 1);
      expect(s.fields['v']?.min[0]).toBe(0);
      // In steps of 700 readings (separate transactions), the same result.
      const scan = new SeriesScan({ from: 0, to: 30_000, buckets: 3, fields: ['v'] });
      let steps = 0;
      while (!store.read((txn) => scan.step(txn, 700))) steps++;
      expect(steps).toBe(Math.floor(n / 700));
      expect(scan.result()).toEqual(s);
    } finally {
      await store.close();
    }
  });

  it('answers empty buckets for a device without readings and refuses bad queries', async () => {
    const store = open('e');
    try {
      const s = store.read((txn) => seriesOf(txn, { from: 0, to: 10, buckets: 5, fields: ['x'] }));
      expect(s.readings).toBe(0);
      expect(s.fields['x']?.count).toEqual([0, 0, 0, 0, 0]);
      const bad = (q: Partial<Parameters<typeof seriesOf>[1]>): string | undefined =>
        errCode(() => store.read((txn) => seriesOf(txn, { from: 0, to: 10, buckets: 5, fields: ['x'], ...q })));
      expect(bad({ to: 0 })).toBe('BAD_REQUEST');
      expect(bad({ buckets: 0 })).toBe('BAD_REQUEST');
      expect(bad({ buckets: 5001 })).toBe('BAD_REQUEST');
      expect(bad({ fields: [] })).toBe('BAD_REQUEST');
      expect(bad({ from: -1 })).toBe('BAD_REQUEST');
      expect(bad({ buckets: 11 })).toBe('BAD_REQUEST');
      expect(bad({ buckets: 10 })).toBeUndefined();
      expect(bad({})).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
