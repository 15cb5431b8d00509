/**
 * The fixed names and byte layouts of the telemetry model (docs/telemetry-model.md).
 * Changing anything here changes data on disk: don't.
 */
import { LmjError } from '../../errors.js';

/** The device root object's fixed pointer: `0x01` followed by 16 zero bytes. */
export const ROOT_PTR: Buffer = Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16)]);

/** Member names of the root object. */
export const ROOT = {
  deviceId: Buffer.from('device_id'),
  firstSeen: Buffer.from('first_seen'),
  lastSeen: Buffer.from('last_seen'),
  meta: Buffer.from('meta'),
  latest: Buffer.from('latest'),
  readings: Buffer.from('readings'),
  ids: Buffer.from('ids'),
  readingCount: Buffer.from('reading_count'),
} as const;

/** Gateway-owned member of readings and `latest`: receive time (canonical CBOR uint). */
export const TS_MEMBER: Buffer = Buffer.from('$ts');
/** Gateway-owned member of readings: message identity (CBOR byte string, 16 bytes). */
export const ID_MEMBER: Buffer = Buffer.from('$id');

/** Length of a `readings` element: 8-byte ts ‖ 17-byte pointer. */
export const ELEMENT_LEN = 25;

/** The `readings` element of a reading: 8-byte big-endian ts ‖ pointer. */
export function encodeElement(ts: number, ptr: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ELEMENT_LEN);
  out.writeBigUInt64BE(BigInt(ts), 0);
  out.set(ptr, 8);
  return out;
}

/** Splits a `readings` element; throws INVALID_PARAM for a malformed one. */
export function decodeElement(element: Uint8Array): { ts: number; ptr: Buffer } {
  if (element.length !== ELEMENT_LEN || element[8] !== 0x01) {
    throw new LmjError('INVALID_PARAM', 'malformed readings element', { details: { length: element.length } });
  }
  const buf = Buffer.from(element.buffer, element.byteOffset, element.byteLength);
  return { ts: Number(buf.readBigUInt64BE(0)), ptr: Buffer.from(buf.subarray(8)) };
}

/** 8-byte big-endian ms, the lower bound of a time range in element space. */
export function tsPrefix(ts: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(ts))), 0);
  return out;
}
