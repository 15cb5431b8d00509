/** The journal's byte formats: record frames and segment headers. */
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../../src/errors.js';
import { decodeRecord, encodeRecord, type JournalRecord } from '../../../../src/gateway/journal/record.js';
import { validateRecord } from '../../../../src/gateway/journal/record.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentHeaderProblem, segmentName } from '../../../../src/gateway/journal/segment-file.js';

const base: JournalRecord = {
  deviceId: 'sensor.2',
  kind: 'telemetry',
  format: 'json',
  identity: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
  receivedAt: 1_764_000_000_123,
  payload: Buffer.from('{"env":{"temp":21.5},"seq":1}'),
};

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('journal record format', () => {
  it('round-trips every kind, format, a large time and an empty payload', () => {
    const cases: JournalRecord[] = [
      base,
      { ...base, kind: 'meta', format: 'cbor', payload: Buffer.from([0xa1, 0x61, 0x61, 0x01]) },
      { ...base, format: 'auto', receivedAt: 2 ** 40 + 5, payload: Buffer.alloc(0) },
      { ...base, deviceId: 'a'.repeat(64), receivedAt: 0, payload: Buffer.alloc(70_000, 7) },
    ];
    const frames = cases.map(encodeRecord);
    const data = Buffer.concat(frames);
    let at = 0;
    for (const c of cases) {
      const r = decodeRecord(data, at);
      if (!r.ok) throw new Error(r.detail);
      expect(r.record).toEqual(c);
      at = r.end;
    }
    expect(at).toBe(data.length);
    // Layout check against docs/journal.md: CRC, length, type, kind, format, id length, time, identity, id, payload.
    const f = frames[0]!;
    expect(f.readUInt32LE(4)).toBe(f.length - 8);
    expect([f[8], f[9], f[10], f[11]]).toEqual([1, 1, 1, 8]);
    expect(f.readUInt32LE(12) + f.readUInt32LE(16) * 2 ** 32).toBe(base.receivedAt);
    expect(f.subarray(20, 36)).toEqual(base.identity);
    expect(f.toString('latin1', 36, 44)).toBe('sensor.2');
    expect(f.subarray(44)).toEqual(base.payload);
  });

  it('detects any changed byte and any cut', () => {
    const f = encodeRecord(base);
    for (let i = 0; i < f.length; i++) {
      const bad = Buffer.from(f);
      bad[i]! ^= 0x5a;
      const r = decodeRecord(bad, 0);
      expect(r.ok, `byte ${i}`).toBe(false);
    }
    for (let len = 0; len < f.length; len++) {
      const r = decodeRecord(f.subarray(0, len), 0);
      expect(r.ok ? 'ok' : r.reason, `cut at ${len}`).toBe('truncated');
    }
  });

  it('refuses records it cannot journal with INVALID_PARAM', () => {
    const max = 1024;
    expect(codeOf(() => validateRecord(base, max))).toBeUndefined();
    expect(codeOf(() => validateRecord({ ...base, deviceId: '../x' }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, identity: Buffer.alloc(15) }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, receivedAt: -1 }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, receivedAt: 1.5 }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, kind: 'other' as never }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, format: 'xml' as never }, max))).toBe('INVALID_PARAM');
    expect(codeOf(() => validateRecord({ ...base, payload: Buffer.alloc(max + 1) }, max))).toBe('INVALID_PARAM');
  });
});

describe('journal segment header', () => {
  it('is 32 bytes with magic, version and the segment number; any damage is named', () => {
    const h = encodeSegmentHeader(7);
    expect(h).toHaveLength(SEGMENT_HEADER_BYTES);
    expect(h.toString('latin1', 0, 8)).toBe('LMJJRNL\0');
    expect(h.readUInt32LE(8)).toBe(1);
    expect(segmentHeaderProblem(h, 7)).toBeUndefined();
    expect(segmentHeaderProblem(h, 8)).toMatch(/names segment 7/);
    expect(segmentHeaderProblem(h.subarray(0, 20), 7)).toMatch(/cut short/);
    const bad = Buffer.from(h);
    bad[17]! ^= 1;
    expect(segmentHeaderProblem(bad, 7)).toMatch(/CRC/);
    const v2 = Buffer.from(h);
    v2.writeUInt32LE(2, 8);
    expect(segmentHeaderProblem(v2, 7)).toBeDefined();
    expect(segmentName(7)).toBe('000000000007.seg');
  });
});
