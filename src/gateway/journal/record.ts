/**
 * The journal's record format: one length-prefixed, CRC-checked frame per message.
 * Byte layout (all integers little-endian; docs/journal.md has the table):
 *
 *   0   u32  CRC-32 (zlib.crc32, IEEE) of bytes [4, 8 + len)
 *   4   u32  len: body length in bytes (everything after this field)
 *   8   u8   record type, 1 = message
 *   9   u8   topic kind: 1 telemetry, 2 meta
 *   10  u8   payload format: 0 auto, 1 json, 2 cbor
 *   11  u8   n: device id length in bytes (1..64, ASCII)
 *   12  u64  receive time, Unix ms
 *   20  16B  message identity (SHA-256 prefix of the raw payload)
 *   36  n    device id
 *   36+n     raw payload (len - 28 - n bytes)
 *
 * The CRC covers the length field, so a torn or overwritten length is detected too.
 */
import { crc32 } from 'node:zlib';
import type { PayloadFormat } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import { deviceIdProblem } from '../../devices/device-id.js';

/** Bytes before the body: CRC and length. */
export const FRAME_HEADER_BYTES = 8;
/** Fixed part of the body before the device id. */
const BODY_FIXED_BYTES = 28;
/** Largest body a reader accepts; a longer length field is corruption, not a record. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
const RECORD_TYPE_MESSAGE = 1;
const IDENTITY_BYTES = 16;

/** One journaled message: everything the pipeline needs to run the same apply again. */
export interface JournalRecord {
  deviceId: string;
  kind: 'telemetry' | 'meta';
  /** The format the payload is flattened with (the pipeline uses 'auto' today). */
  format: PayloadFormat;
  /** 16-byte message identity (`messageIdentity(payload)`), the dedupe key on replay. */
  identity: Buffer;
  /** Gateway receive time, Unix ms. */
  receivedAt: number;
  /** The raw payload bytes as received. */
  payload: Buffer;
}

const KIND_CODE = { telemetry: 1, meta: 2 } as const;
const KIND_BY_CODE = [undefined, 'telemetry', 'meta'] as const;
const FORMAT_CODE = { auto: 0, json: 1, cbor: 2 } as const;
const FORMAT_BY_CODE = ['auto', 'json', 'cbor'] as const;

function invalid(message: string, details: Record<string, unknown>): LmjError {
  return new LmjError('INVALID_PARAM', `journal record: ${message}`, { details });
}

/** Throws INVALID_PARAM unless `r` can be journaled (payload at most `maxPayloadBytes`). */
export function validateRecord(r: JournalRecord, maxPayloadBytes: number): void {
  const problem = deviceIdProblem(r.deviceId);
  if (problem !== undefined) throw invalid(problem, { deviceId: String(r.deviceId).slice(0, 80) });
  if (!(r.kind in KIND_CODE)) throw invalid('kind must be telemetry or meta', { kind: String(r.kind) });
  if (!(r.format in FORMAT_CODE)) throw invalid('format must be auto, json or cbor', { format: String(r.format) });
  if (!Buffer.isBuffer(r.identity) || r.identity.length !== IDENTITY_BYTES) throw invalid('identity must be 16 bytes', {});
  if (!Number.isSafeInteger(r.receivedAt) || r.receivedAt < 0) throw invalid('receivedAt must be a non-negative integer', {});
  if (!Buffer.isBuffer(r.payload)) throw invalid('payload must be a Buffer', {});
  if (r.payload.length > maxPayloadBytes) throw invalid('payload too large', { size: r.payload.length, limit: maxPayloadBytes });
}

/** Encodes one (validated) record into a new frame. */
export function encodeRecord(r: JournalRecord): Buffer {
  const n = r.deviceId.length;
  const len = BODY_FIXED_BYTES + n + r.payload.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  buf.writeUInt32LE(len, 4);
  buf[8] = RECORD_TYPE_MESSAGE;
  buf[9] = KIND_CODE[r.kind];
  buf[10] = FORMAT_CODE[r.format];
  buf[11] = n;
  // Two u32 halves: a safe integer fits, and no BigInt on the hot path.
  buf.writeUInt32LE(r.receivedAt % 0x1_0000_0000, 12);
  buf.writeUInt32LE(Math.floor(r.receivedAt / 0x1_0000_0000), 16);
  r.identity.copy(buf, 20);
  buf.write(r.deviceId, 36, 'latin1');
  r.payload.copy(buf, 36 + n);
  buf.writeUInt32LE(crc32(buf.subarray(4)), 0);
  return buf;
}

/** Result of decoding at an offset: a record and where it ends, or why there is none. */
export type DecodeResult =
  | { ok: true; record: JournalRecord; end: number }
  /** `truncated`: the frame runs past the data; `corrupt`: CRC or field check failed. */
  | { ok: false; reason: 'truncated' | 'corrupt'; detail: string };

/** Decodes the frame starting at `offset` of `data` (copies the payload out). */
export function decodeRecord(data: Buffer, offset: number): DecodeResult {
  if (offset + FRAME_HEADER_BYTES > data.length) return { ok: false, reason: 'truncated', detail: 'frame header cut short' };
  const len = data.readUInt32LE(offset + 4);
  if (len < BODY_FIXED_BYTES + 1 || len > MAX_BODY_BYTES) return { ok: false, reason: 'corrupt', detail: `bad length ${len}` };
  const end = offset + FRAME_HEADER_BYTES + len;
  if (end > data.length) return { ok: false, reason: 'truncated', detail: `record of ${len} bytes cut short` };
  if (crc32(data.subarray(offset + 4, end)) !== data.readUInt32LE(offset)) return { ok: false, reason: 'corrupt', detail: 'CRC mismatch' };
  const b = offset + FRAME_HEADER_BYTES;
  const kind = KIND_BY_CODE[data[b + 1]!];
  const format = FORMAT_BY_CODE[data[b + 2]!];
  const n = data[b + 3]!;
  if (data[b] !== RECORD_TYPE_MESSAGE || kind === undefined || format === undefined || n === 0 || BODY_FIXED_BYTES + n > len) {
    return { ok: false, reason: 'corrupt', detail: 'bad record header' };
  }
  const receivedAt = data.readUInt32LE(b + 4) + data.readUInt32LE(b + 8) * 0x1_0000_0000;
  const record: JournalRecord = {
    deviceId: data.toString('latin1', b + 28, b + 28 + n),
    kind,
    format,
    identity: Buffer.from(data.subarray(b + 12, b + 28)),
    receivedAt,
    payload: Buffer.from(data.subarray(b + 28 + n, end)),
  };
  return { ok: true, record, end };
}
