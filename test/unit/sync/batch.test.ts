/** The uplink wire format: round trip of exact bytes and whole-batch validation. */
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { encodeElement } from '../../../src/core/telemetry/model.js';
import type { ReadingRecord } from '../../../src/core/telemetry/types.js';
import { cborBytes, cborUint } from '../../../src/core/telemetry/values.js';
import { isLmjError } from '../../../src/errors.js';
import { decodeBatch, encodeBatch, parseAnswer } from '../../../src/sync/batch.js';

const codec = getCodec();
const valid = (id: string): boolean => /^[A-Za-z0-9._-]{1,64}$/.test(id);

function record(deviceId: string, ts: number, extra: { name: Buffer; value: Buffer }[] = []): ReadingRecord {
  const ptr = codec.newPointer(0x01, codec.partitionOf(deviceId));
  const identity = Buffer.alloc(16, ts & 0xff);
  const members = [
    { name: Buffer.from('$id'), value: cborBytes(identity) },
    { name: Buffer.from('$ts'), value: cborUint(ts) },
    { name: Buffer.from('temp'), value: Buffer.from([0xfb, 0x40, 0x35, 0, 0, 0, 0, 0, 0]) },
    ...extra,
  ].sort((a, b) => Buffer.compare(a.name, b.name));
  return { element: encodeElement(ts, ptr), ptr, ts, identity, members };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isLmjError(err) ? err.code : 'NOT_LMJ';
  }
  return undefined;
}

describe('batch wire format', () => {
  it('round-trips records byte for byte', () => {
    const recs = [record('dev-1', 1000), record('dev-1', 1001)];
    const batch = decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 7, devices: [{ deviceId: 'dev-1', records: recs }] }), { isValidDeviceId: valid, gatewayId: 'gw' });
    expect(batch.seq).toBe(7);
    expect(batch.devices[0]!.records).toEqual(recs);
  });

  it('refuses truncated CBOR, wrong schema, foreign pointers, long names, disorder', () => {
    const good = encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [record('dev-1', 5)] }] });
    const enc = new Encoder({ useRecords: false });
    const other = [...Array(50).keys()].map((i) => `x-${i}`).find((id) => codec.partitionOf(id) !== codec.partitionOf('dev-1'))!;
    const d = (o: unknown): Buffer => enc.encode(o);
    const opts = { isValidDeviceId: valid, gatewayId: 'gw' };
    expect(code(() => decodeBatch(good.subarray(0, good.length - 1), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(Buffer.concat([good, Buffer.from([0])]), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: 1, d: [], extra: 1 }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: -1, d: [] }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: 1, d: [['../etc', []]] }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(good, { ...opts, gatewayId: 'other' }))).toBe('UNAUTHORIZED');
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: other, records: [record('dev-1', 5)] }] }), opts))).toBe('WRONG_PARTITION');
    const long = record('dev-1', 5, [{ name: Buffer.alloc(494, 0x61), value: Buffer.from([1]) }]);
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [long] }] }), opts))).toBe('MEMBER_TOO_LONG');
    const ok493 = record('dev-1', 5, [{ name: Buffer.alloc(493, 0x61), value: Buffer.from([1]) }]);
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [ok493] }] }), opts))).toBeUndefined();
    const [a, b] = [record('dev-1', 5), record('dev-1', 6)];
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [b, a] }] }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [a, a] }] }), opts))).toBe('BAD_BATCH');
    const badTs = { ...a, members: a.members.map((m) => (m.name.toString() === '$ts' ? { name: m.name, value: cborUint(6) } : m)) };
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [badTs] }] }), opts))).toBe('BAD_BATCH');
  });

  it('parses router answers and refuses malformed ones', () => {
    expect(parseAnswer({ seq: 1, devices: [{ id: 'a', cursor: 'ab'.repeat(25), applied: 1, duplicates: 0 }] }).devices).toHaveLength(1);
    expect(parseAnswer({ seq: 1, devices: [{ id: 'a', error: { code: 'X', message: 'y' } }] }).devices).toHaveLength(1);
    expect(code(() => parseAnswer({ seq: 1, devices: [{ id: 'a', cursor: 'zz' }] }))).toBe('UPSTREAM_FAILED');
    expect(code(() => parseAnswer(null))).toBe('UPSTREAM_FAILED');
  });
});
