/** The uplink wire format: round trip of exact bytes and whole-batch validation. */
import { Encoder, decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { encodeElement } from '../../../src/core/telemetry/model.js';
import type { ReadingRecord } from '../../../src/core/telemetry/types.js';
import { cborBytes, cborUint } from '../../../src/core/telemetry/values.js';
import { isLmjError } from '../../../src/errors.js';
import { BATCH_VERSION, MAX_BATCH_DEVICES, MAX_BATCH_RECORDS, MAX_VALUE_LEN, decodeBatch, decodeGeneric, encodeBatch, encodeBatchGeneric, parseAnswer } from '../../../src/sync/batch.js';
import { readBatch } from '../../../src/sync/batch-wire.js';

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

const rules = { version: BATCH_VERSION, maxValueLen: MAX_VALUE_LEN, maxDevices: MAX_BATCH_DEVICES, maxRecords: MAX_BATCH_RECORDS, isValidDeviceId: valid, codec };

/** The refusal of `decodeBatch` (generic path) and that the direct reader did not take the body either. */
function refused(body: Buffer, opts: Parameters<typeof decodeBatch>[1]): string | undefined {
  expect(readBatch(body, rules)).toBeUndefined();
  return code(() => decodeBatch(body, opts));
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

  it('writes the CBOR items cbor-x writes, and reads them back as the generic decoder does', () => {
    const other = [...Array(50).keys()].map((i) => `y-${i}`).find((id) => codec.partitionOf(id) !== codec.partitionOf('dev-1'))!;
    // Byte strings as hex: deep equality over 64 KiB buffers element by element is slow.
    const hex = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' ? Buffer.from((x as { data: number[] }).data).toString('hex') : x)));
    const big = record('dev-1', 2 ** 40 + 3, [{ name: Buffer.from('blob'), value: Buffer.alloc(MAX_VALUE_LEN, 7) }, { name: Buffer.from('zz'), value: Buffer.alloc(300, 1) }]);
    for (const seq of [0, 23, 24, 255, 65_536, 2 ** 32 - 1, 2 ** 32, Date.now()]) {
      const records = [record('dev-1', 1), record('dev-1', 300), ...(seq === 0 ? [big] : [])];
      const batch = { gatewayId: 'gw-é', seq, devices: [{ deviceId: 'dev-1', records }, { deviceId: other, records: [record(other, 9)] }] };
      const direct = encodeBatch(batch);
      const generic = encodeBatchGeneric(batch);
      expect(hex(decode(direct))).toEqual(hex(decode(generic)));
      const opts = { isValidDeviceId: valid, gatewayId: 'gw-é' };
      // Both spellings decode to the same batch; a non-ASCII gateway id takes the generic path.
      expect(readBatch(direct, rules)).toBeUndefined();
      expect(hex(decodeBatch(direct, opts))).toEqual(hex(decodeGeneric(generic, opts)));
      const ascii = { ...batch, gatewayId: 'gw' };
      for (const body of [encodeBatch(ascii), encodeBatchGeneric(ascii)]) {
        const fast = readBatch(body, rules);
        expect(fast).toBeDefined();
        expect(hex(fast)).toEqual(hex(decodeGeneric(body, { isValidDeviceId: valid, gatewayId: 'gw' })));
        expect(fast!.devices[0]!.records).toHaveLength(records.length);
      }
    }
  });

  it('refuses truncated CBOR, wrong schema, foreign pointers, long names, disorder', () => {
    const good = encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [record('dev-1', 5)] }] });
    const enc = new Encoder({ useRecords: false });
    const other = [...Array(50).keys()].map((i) => `x-${i}`).find((id) => codec.partitionOf(id) !== codec.partitionOf('dev-1'))!;
    const d = (o: unknown): Buffer => enc.encode(o);
    const opts = { isValidDeviceId: valid, gatewayId: 'gw' };
    expect(refused(good.subarray(0, good.length - 1), opts)).toBe('BAD_BATCH');
    expect(refused(Buffer.concat([good, Buffer.from([0])]), opts)).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: 1, d: [], extra: 1 }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: -1, d: [] }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(d({ v: 1, gw: 'gw', seq: 1, d: [['../etc', []]] }), opts))).toBe('BAD_BATCH');
    expect(code(() => decodeBatch(good, { ...opts, gatewayId: 'other' }))).toBe('UNAUTHORIZED');
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: other, records: [record('dev-1', 5)] }] }), opts)).toBe('WRONG_PARTITION');
    const long = record('dev-1', 5, [{ name: Buffer.alloc(494, 0x61), value: Buffer.from([1]) }]);
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [long] }] }), opts)).toBe('MEMBER_TOO_LONG');
    const ok493 = record('dev-1', 5, [{ name: Buffer.alloc(493, 0x61), value: Buffer.from([1]) }]);
    expect(code(() => decodeBatch(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [ok493] }] }), opts))).toBeUndefined();
    const [a, b] = [record('dev-1', 5), record('dev-1', 6)];
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [b, a] }] }), opts)).toBe('BAD_BATCH');
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [a, a] }] }), opts)).toBe('BAD_BATCH');
    const tooLong = record('dev-1', 5, [{ name: Buffer.from('z'), value: Buffer.alloc(MAX_VALUE_LEN + 1) }]);
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [tooLong] }] }), opts)).toBe('BAD_BATCH');
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [a] }, { deviceId: 'dev-1', records: [b] }] }), opts)).toBe('BAD_BATCH');
    const unsorted = { ...a, members: [...a.members].reverse() };
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [unsorted] }] }), opts)).toBe('BAD_BATCH');
    const shortId = { ...a, members: a.members.map((m) => (m.name.toString() === '$id' ? { name: m.name, value: cborBytes(Buffer.alloc(15)) } : m)) };
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [shortId] }] }), opts)).toBe('BAD_BATCH');
    const noTs = { ...a, members: a.members.filter((m) => m.name.toString() !== '$ts').concat([{ name: Buffer.from('zz'), value: Buffer.from([1]) }]) };
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [noTs] }] }), opts)).toBe('BAD_BATCH');
    const badTs = { ...a, members: a.members.map((m) => (m.name.toString() === '$ts' ? { name: m.name, value: cborUint(6) } : m)) };
    expect(refused(encodeBatch({ gatewayId: 'gw', seq: 1, devices: [{ deviceId: 'dev-1', records: [badTs] }] }), opts)).toBe('BAD_BATCH');
  });

  it('parses router answers and refuses malformed ones', () => {
    expect(parseAnswer({ seq: 1, devices: [{ id: 'a', cursor: 'ab'.repeat(25), applied: 1, duplicates: 0 }] }).devices).toHaveLength(1);
    expect(parseAnswer({ seq: 1, devices: [{ id: 'a', error: { code: 'X', message: 'y' } }] }).devices).toHaveLength(1);
    expect(code(() => parseAnswer({ seq: 1, devices: [{ id: 'a', cursor: 'zz' }] }))).toBe('UPSTREAM_FAILED');
    expect(code(() => parseAnswer(null))).toBe('UPSTREAM_FAILED');
  });
});
