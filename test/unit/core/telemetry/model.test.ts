import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { openStore } from '../../../../src/core/index.js';
import type { LmjStore } from '../../../../src/core/types.js';
import {
  ROOT_PTR, applyMeta, applyReadings, applyRecords, deviceSummary, entityView, exportRecords, findByIdentity, latest,
  messageIdentity, readings, type ReadingInput,
} from '../../../../src/core/telemetry/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const codec = getCodec();

function open(deviceId: string): LmjStore {
  return openStore(tmpDir(), { durability: 'fast', partition: codec.partitionOf(deviceId) });
}

function input(payload: unknown, receivedAt: number): ReadingInput {
  const raw = Buffer.from(JSON.stringify(payload));
  return { flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt };
}

describe('telemetry model', () => {
  it('stores readings, dedupes redeliveries, keeps latest and the root', async () => {
    const store = open('dev-1');
    try {
      const a = input({ seq: 1, env: { temp: 21.5 } }, 1000);
      const b = input({ seq: 2, env: { temp: 22 }, fw: 'x' }, 2000);
      const out = store.write((txn) => applyReadings(txn, 'dev-1', [a, b, a]));
      expect(out.map((o) => o.status)).toEqual(['stored', 'stored', 'duplicate']);
      expect(out[2]?.ptr.equals(out[0]!.ptr)).toBe(true);
      const again = store.write((txn) => applyReadings(txn, 'dev-1', [b]));
      expect(again[0]?.status).toBe('duplicate');

      const summary = store.read((txn) => deviceSummary(txn));
      expect(summary).toMatchObject({ id: 'dev-1', firstSeen: 1000, lastSeen: 2000, readings: 2, latestTs: 2000 });
      expect(store.read((txn) => latest(txn))).toEqual({ id: 'dev-1', ts: 2000, values: { seq: 2, 'env.temp': 22, fw: 'x' } });
      const found = store.read((txn) => findByIdentity(txn, a.identity));
      expect(found).toMatchObject({ ts: 1000, id: a.identity.toString('hex'), values: { seq: 1, 'env.temp': 21.5 } });
      expect(store.read((txn) => findByIdentity(txn, Buffer.alloc(16)))).toBeNull();
      // Pointers carry the device's partition (bytes 1–2).
      expect(out[0]!.ptr.readUInt16BE(1)).toBe(codec.partitionOf('dev-1'));
    } finally {
      await store.close();
    }
  });

  it('keeps element order append-only: ts clamped to the previous reading', async () => {
    const store = open('d');
    try {
      const out = store.write((txn) => applyReadings(txn, 'd', [input({ n: 1 }, 5000), input({ n: 2 }, 4000), input({ n: 3 }, 5000)]));
      const ts = out.map((o) => (o.status === 'stored' ? o.ts : -1));
      expect(ts[0]).toBe(5000);
      expect(ts[1]).toBeGreaterThanOrEqual(5000);
      expect(ts[2]).toBeGreaterThanOrEqual(ts[1]!);
      const page = store.read((txn) => readings(txn, { limit: 10 }));
      expect(page.readings.map((r) => r.values['n'])).toEqual([1, 2, 3]);
    } finally {
      await store.close();
    }
  });

  it('answers ranges with from/to, fields, limit, cursor paging and reverse', async () => {
    const store = open('r');
    try {
      store.write((txn) =>
        applyReadings(txn, 'r', Array.from({ length: 25 }, (_, i) => input({ i, env: { t: i, h: 2 * i }, x: 'y' }, 10_000 + i * 10))),
      );
      const all = store.read((txn) => readings(txn, { limit: 1000 }));
      expect(all.readings).toHaveLength(25);
      expect(all.next).toBeNull();

      const range = store.read((txn) => readings(txn, { from: 10_050, to: 10_100 }));
      expect(range.readings.map((r) => r.values['i'])).toEqual([5, 6, 7, 8, 9]);

      const fields = store.read((txn) => readings(txn, { limit: 1, fields: ['env'] }));
      expect(fields.readings[0]?.values).toEqual({ 'env.t': 0, 'env.h': 0 });
      const exact = store.read((txn) => readings(txn, { limit: 1, fields: ['env.h', 'i'] }));
      expect(exact.readings[0]?.values).toEqual({ 'env.h': 0, i: 0 });

      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = store.read((txn) => readings(txn, { limit: 7, from: 10_020, ...(cursor === undefined ? {} : { cursor }) }));
        seen.push(...page.readings.map((r) => r.values['i'] as number));
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
      expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => i + 2));

      const back: number[] = [];
      cursor = undefined;
      do {
        const page = store.read((txn) => readings(txn, { limit: 10, reverse: true, ...(cursor === undefined ? {} : { cursor }) }));
        back.push(...page.readings.map((r) => r.values['i'] as number));
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
      expect(back).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));

      for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { from: -1 }, { cursor: 'zz' }, { cursor: 'abcd' }]) {
        expect(() => store.read((txn) => readings(txn, bad)), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
      }
    } finally {
      await store.close();
    }
  });

  it('merges meta and shows entities by pointer', async () => {
    const store = open('m');
    try {
      store.write((txn) => applyMeta(txn, 'm', { flat: codec.flatten(Buffer.from('{"fw":"1.0","model":"X"}'), 'json'), receivedAt: 100 }));
      store.write((txn) => applyMeta(txn, 'm', { flat: codec.flatten(Buffer.from('{"fw":"1.1"}'), 'json'), receivedAt: 200 }));
      const out = store.write((txn) => applyReadings(txn, 'm', [input({ b: true, n: null, s: 'x' }, 300)]));
      const summary = store.read((txn) => deviceSummary(txn))!;
      expect(summary).toMatchObject({ firstSeen: 100, lastSeen: 300, readings: 1, meta: { fw: '1.1', model: 'X' } });

      const root = store.read((txn) => entityView(txn, ROOT_PTR));
      expect(root.type).toBe('object');
      const names = Object.fromEntries(root.members!.map((m) => [m.name, m.ref ?? m.value]));
      expect(names).toMatchObject({ device_id: 'm', first_seen: 100, last_seen: 300, reading_count: 1, readings: summary.pointers.readings });

      const set = store.read((txn) => entityView(txn, Buffer.from(summary.pointers.readings, 'hex')));
      expect(set.type).toBe('set');
      expect(set.elements).toHaveLength(1);
      expect(set.elements![0]).toMatchObject({ ts: 300, ref: out[0]!.ptr.toString('hex') });

      const reading = store.read((txn) => entityView(txn, out[0]!.ptr));
      const values = Object.fromEntries(reading.members!.map((m) => [m.name, m.value]));
      expect(values).toMatchObject({ b: true, n: null, s: 'x', $ts: 300 });
      expect(reading.errors).toEqual([]);

      const missing = store.read((txn) => entityView(txn, Buffer.concat([Buffer.from([1]), Buffer.alloc(16, 9)])));
      expect(missing.exists).toBe(false);
      expect(missing.errors[0]?.code).toBe('ENTITY_NOT_FOUND');
      expect(() => store.read((txn) => entityView(txn, Buffer.alloc(17)))).toThrow(expect.objectContaining({ code: 'INVALID_POINTER' }));
    } finally {
      await store.close();
    }
  });

  it('reports an empty instance as having no root', async () => {
    const store = open('e');
    try {
      expect(store.read((txn) => deviceSummary(txn))).toBeNull();
      expect(store.read((txn) => latest(txn))).toBeNull();
      expect(store.read((txn) => readings(txn))).toEqual({ readings: [], next: null });
      expect(store.read((txn) => exportRecords(txn, undefined, 10))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('exports records and applies them elsewhere byte for byte, idempotently', async () => {
    const src = open('sync-1');
    const dst = open('sync-1');
    try {
      src.write((txn) => applyReadings(txn, 'sync-1', Array.from({ length: 12 }, (_, i) => input({ i, arr: [i, 'x'] }, 1000 + i))));
      const first = src.read((txn) => exportRecords(txn, undefined, 5));
      const rest = src.read((txn) => exportRecords(txn, first[first.length - 1]!.element, 100));
      expect(first).toHaveLength(5);
      expect(rest).toHaveLength(7);
      const all = [...first, ...rest];
      expect(dst.write((txn) => applyRecords(txn, 'sync-1', [...rest].reverse()))).toEqual({
        applied: 7,
        duplicates: 0,
        root: { firstSeen: 1005, lastSeen: 1011, readingCount: 7 },
      });
      expect(dst.write((txn) => applyRecords(txn, 'sync-1', all))).toEqual({
        applied: 5,
        duplicates: 7,
        root: { firstSeen: 1000, lastSeen: 1011, readingCount: 12 },
      });
      expect(dst.write((txn) => applyRecords(txn, 'sync-1', all))).toMatchObject({ applied: 0, duplicates: 12, root: { readingCount: 12 } });

      const copied = dst.read((txn) => exportRecords(txn, undefined, 100));
      expect(copied).toEqual(all);
      for (const r of all) {
        expect(dst.read((txn) => txn.objGet(r.ptr))).toEqual(src.read((txn) => txn.objGet(r.ptr)));
      }
      const srcLatest = src.read((txn) => latest(txn));
      expect(dst.read((txn) => latest(txn))).toEqual(srcLatest);
      expect(dst.read((txn) => deviceSummary(txn))).toMatchObject({ readings: 12, firstSeen: 1000, lastSeen: 1011 });

      const other = open('other');
      try {
        expect(() => other.write((txn) => applyRecords(txn, 'other-device-id', all))).toThrow(expect.objectContaining({ code: 'WRONG_PARTITION' }));
        const forged = { ...all[0]!, ts: all[0]!.ts + 1 };
        expect(() => other.write((txn) => applyRecords(txn, 'sync-1', [forged]))).toThrow(expect.objectContaining({ code: 'BAD_BATCH' }));
        // Each in-place check on its own: identity, element, `$ts` value, `$id` value.
        const r0 = all[0]!;
        const flip = (b: Buffer, at: number): Buffer => {
          const c = Buffer.from(b);
          c[at]! ^= 1;
          return c;
        };
        const ofMember = (name: string, value: (v: Buffer) => Buffer) => ({
          ...r0,
          members: r0.members.map((m) => (m.name.toString() === name ? { name: m.name, value: value(m.value) } : m)),
        });
        const forgeries = [
          { ...r0, identity: flip(r0.identity, 0) },
          { ...r0, element: flip(r0.element, 24) },
          ofMember('$ts', (v) => flip(v, v.length - 1)),
          ofMember('$ts', (v) => Buffer.concat([v, Buffer.from([0])])),
          ofMember('$id', (v) => flip(v, 0)),
          ofMember('$id', (v) => flip(v, v.length - 1)),
        ];
        for (const f of forgeries) {
          expect(() => other.write((txn) => applyRecords(txn, 'sync-1', [f]))).toThrow(expect.objectContaining({ code: 'BAD_BATCH' }));
        }
        expect(other.read((txn) => deviceSummary(txn))).toBeNull();
      } finally {
        await other.close();
      }
    } finally {
      await src.close();
      await dst.close();
    }
  });

  it('identifies a message by the first 16 bytes of SHA-256 of its payload', () => {
    for (const raw of [Buffer.alloc(0), Buffer.from('{"env":{"temp":21.5},"seq":1}'), Buffer.alloc(5000, 0xab)]) {
      expect(messageIdentity(raw)).toEqual(createHash('sha256').update(raw).digest().subarray(0, 16));
    }
    expect(messageIdentity(Buffer.from('a'))).not.toEqual(messageIdentity(Buffer.from('b')));
  });
});
