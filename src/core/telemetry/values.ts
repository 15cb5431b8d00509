/**
 * Member values of the telemetry model: encoding the gateway's own scalars as
 * canonical CBOR (the same bytes the codec produces for leaves) and decoding stored
 * values into JSON values for queries.
 */
import { LmjError } from '../../errors.js';
import type { JsonValue } from './types.js';

const MAX_DECODE_DEPTH = 64;

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

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(msg: string): never {
    throw new LmjError('INVALID_PARAM', `undecodable value: ${msg}`, { details: { offset: this.pos } });
  }

  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) this.fail('truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The argument of a head: a number, or a bigint when it does not fit 2^53. */
  arg(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.take(1).readUInt8(0);
    if (info === 25) return this.take(2).readUInt16BE(0);
    if (info === 26) return this.take(4).readUInt32BE(0);
    if (info === 27) {
      const v = this.take(8).readBigUInt64BE(0);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    return this.fail(`unsupported additional info ${info}`);
  }

  length(info: number): number {
    const n = this.arg(info);
    if (typeof n !== 'number' || n > this.buf.length) this.fail('length too large');
    return n as number;
  }

  item(depth: number): JsonValue {
    if (depth > MAX_DECODE_DEPTH) this.fail('too deep');
    const b = this.take(1).readUInt8(0);
    const major = b >> 5;
    const info = b & 0x1f;
    switch (major) {
      case 0: {
        const n = this.arg(info);
        return typeof n === 'number' ? n : { $int: n.toString() };
      }
      case 1: {
        const n = this.arg(info);
        const neg = -1n - BigInt(n);
        return neg >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(neg) : { $int: neg.toString() };
      }
      case 2:
        return { $bytes: Buffer.from(this.take(this.length(info))).toString('base64') };
      case 3:
        return this.take(this.length(info)).toString('utf8');
      case 4: {
        const n = this.length(info);
        const out: JsonValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out: Record<string, JsonValue> = {};
        for (let i = 0; i < n; i++) {
          const k = this.item(depth + 1);
          if (typeof k !== 'string') this.fail('non-text map key');
          out[k as string] = this.item(depth + 1);
        }
        return out;
      }
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        if (info === 25) return this.half(this.take(2).readUInt16BE(0));
        if (info === 26) return this.finite(this.take(4).readFloatBE(0));
        if (info === 27) return this.finite(this.take(8).readDoubleBE(0));
        return this.fail(`unsupported simple value ${info}`);
      default:
        return this.fail(`unsupported major type ${major}`);
    }
  }

  half(h: number): JsonValue {
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    const sign = h & 0x8000 ? -1 : 1;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 31) return this.finite(mant === 0 ? sign * Infinity : NaN);
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }

  finite(x: number): JsonValue {
    // JSON has no NaN/Infinity; the codec never stores them, but foreign data might.
    return Number.isFinite(x) ? x : { $float: String(x) };
  }
}

/**
 * Decodes one stored CBOR value into a JSON value: ints, floats, text, booleans, null
 * (CBOR `undefined` also → null), arrays/maps; byte strings → `{"$bytes": base64}`;
 * integers beyond ±(2^53−1) → `{"$int": "<decimal>"}`. Throws INVALID_PARAM for bytes
 * that are not exactly one CBOR item of these kinds.
 */
export function decodeValue(value: Uint8Array): JsonValue {
  const r = new Reader(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  const v = r.item(0);
  if (r.pos !== r.buf.length) r.fail('trailing bytes');
  return v;
}

/**
 * True when a member value is a reference: exactly 17 bytes starting with an entity
 * type byte. Unambiguous, because a canonical CBOR value starting with 0x01 or 0x02
 * is the one-byte integer 1 or 2.
 */
export function isReference(value: Uint8Array): boolean {
  return value.length === 17 && (value[0] === 0x01 || value[0] === 0x02);
}
