/**
 * Portable pointer rules (docs/codec.md §1–§3): generation, partition function,
 * hex text form and `main` key building. Byte-identical to native/src/pointer.cc.
 */
import { randomBytes } from 'node:crypto';
import { LmjError } from '../../errors.js';
import { PTR_LEN, type EntityType } from '../types.js';

/** Largest value of the 24-bit per-millisecond counter in bytes 14–16. */
const COUNTER_MAX = 0xffffff;
/** Largest creation time a 48-bit field holds. */
const MS_MAX = 2 ** 48 - 1;

/**
 * Per-process generator state. The 5-byte nonce (bytes 9–13) is random per
 * generator so two processes (or two codecs in one process) never share a
 * sequence; the counter (bytes 14–16) restarts each millisecond and the time
 * never goes backwards, so pointers from one generator strictly increase.
 */
export class PointerGenerator {
  private readonly nonce: Buffer;
  private lastMs = 0;
  private counter = 0;

  constructor(nonce: Uint8Array = randomBytes(5)) {
    if (nonce.length !== 5) throw new LmjError('INVALID_PARAM', 'pointer nonce must be 5 bytes');
    this.nonce = Buffer.from(nonce);
  }

  /** A new pointer; see docs/codec.md §1 for the layout. */
  next(type: EntityType, partition: number, now: number = Date.now()): Buffer {
    checkType(type);
    checkPartition(partition);
    if (now > this.lastMs) {
      this.lastMs = Math.min(now, MS_MAX);
      this.counter = 0;
    } else if (this.counter >= COUNTER_MAX) {
      // Counter exhausted within one millisecond (or the clock went backwards for
      // long): borrow the next millisecond rather than repeat or reorder.
      this.lastMs += 1;
      this.counter = 0;
    } else {
      this.counter += 1;
    }
    const out = Buffer.allocUnsafe(PTR_LEN);
    out[0] = type;
    out.writeUInt16BE(partition, 1);
    out.writeUIntBE(this.lastMs, 3, 6);
    this.nonce.copy(out, 9);
    out[14] = (this.counter >>> 16) & 0xff;
    out[15] = (this.counter >>> 8) & 0xff;
    out[16] = this.counter & 0xff;
    return out;
  }
}

/** Throws INVALID_PARAM unless `type` is 0x01 or 0x02. */
export function checkType(type: number): asserts type is EntityType {
  if (type !== 0x01 && type !== 0x02) {
    throw new LmjError('INVALID_PARAM', `entity type must be 0x01 or 0x02, got ${String(type)}`, { details: { type } });
  }
}

/** Throws INVALID_PARAM unless `partition` is an integer in 0..65535. */
export function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffff) {
    throw new LmjError('INVALID_PARAM', `partition must be an integer in 0..65535, got ${String(partition)}`, {
      details: { partition },
    });
  }
}

const encoder = new TextEncoder();

/**
 * FNV-1a 32-bit over the UTF-8 bytes of the device id, folded to 16 bits by
 * XOR of its halves (docs/codec.md §2). Lone surrogates encode as U+FFFD.
 */
export function partitionOf(deviceId: string): number {
  if (typeof deviceId !== 'string') throw new LmjError('INVALID_PARAM', 'device id must be a string');
  const bytes = encoder.encode(deviceId);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return ((h >>> 16) ^ (h & 0xffff)) & 0xffff;
}

/** Throws INVALID_POINTER unless `ptr` is 17 bytes with type byte 0x01 or 0x02. */
export function checkPointer(ptr: Uint8Array): void {
  if (!(ptr instanceof Uint8Array) || ptr.length !== PTR_LEN || (ptr[0] !== 0x01 && ptr[0] !== 0x02)) {
    const len = ptr instanceof Uint8Array ? ptr.length : undefined;
    throw new LmjError('INVALID_POINTER', 'pointer must be 17 bytes starting with 0x01 or 0x02', {
      details: { length: len, type: ptr instanceof Uint8Array ? ptr[0] : undefined },
    });
  }
}

const HEX = '0123456789abcdef';

/** 34 lowercase hex characters. */
export function formatPointer(ptr: Uint8Array): string {
  checkPointer(ptr);
  let s = '';
  for (let i = 0; i < PTR_LEN; i++) {
    const b = ptr[i]!;
    s += HEX[b >>> 4]! + HEX[b & 15]!;
  }
  return s;
}

const HEX_TEXT = /^[0-9a-fA-F]{34}$/;

/** Parses 34 hex characters (either case); anything else is INVALID_POINTER. */
export function parsePointer(text: string): Buffer {
  if (typeof text !== 'string' || !HEX_TEXT.test(text)) {
    throw new LmjError('INVALID_POINTER', 'pointer text must be 34 hex characters', {
      details: { length: typeof text === 'string' ? text.length : undefined },
    });
  }
  const out = Buffer.from(text, 'hex');
  checkPointer(out);
  return out;
}
