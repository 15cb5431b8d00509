/**
 * Argument validation and key building for the engine: pointers, member names and
 * set elements as docs/storage.md (On-disk format) limits them. Everything returns Buffers the engine can
 * hand to lmdb-js without another copy.
 */
import { MAX_ELEMENT_LEN, MAX_MEMBER_NAME_LEN, OBJECT_TYPE, PTR_LEN, SET_TYPE } from '../codec/types.js';
import { LmjError } from '../errors.js';
import type { Bytes } from './types.js';

/** The zero-length existence marker value in `set`. */
export const MARKER: Buffer = Buffer.alloc(0);

/** Bytes as a Buffer without copying when possible (strings become UTF-8). */
export function toBuffer(value: Bytes): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new LmjError('INVALID_PARAM', 'expected bytes or a string', { details: { got: typeof value } });
}

/** Validates a pointer of any entity type; returns it as a Buffer view. */
export function checkPointer(ptr: Uint8Array): Buffer {
  if (ptr === null || ptr === undefined) throw new LmjError('NULL_POINTER');
  if (!(ptr instanceof Uint8Array) || ptr.length !== PTR_LEN || (ptr[0] !== OBJECT_TYPE && ptr[0] !== SET_TYPE)) {
    throw new LmjError('INVALID_POINTER', 'invalid pointer: expected 17 bytes starting with 0x01 or 0x02', {
      details: { length: ptr instanceof Uint8Array ? ptr.length : undefined, type: ptr instanceof Uint8Array ? ptr[0] : undefined },
    });
  }
  return Buffer.isBuffer(ptr) ? ptr : Buffer.from(ptr.buffer, ptr.byteOffset, PTR_LEN);
}

/** Validates a pointer that must address an entity of `type`. */
export function checkTyped(ptr: Uint8Array, type: 0x01 | 0x02): Buffer {
  const p = checkPointer(ptr);
  if (p[0] !== type) {
    throw new LmjError('ENTITY_TYPE_MISMATCH', `expected a ${type === OBJECT_TYPE ? 'object' : 'set'} pointer`, {
      details: { type: p[0] },
    });
  }
  return p;
}

/** A member name: 1..493 bytes. */
export function checkName(name: Bytes): Buffer {
  const b = toBuffer(name);
  if (b.length === 0) throw new LmjError('INVALID_PARAM', 'member name must not be empty');
  if (b.length > MAX_MEMBER_NAME_LEN) {
    throw new LmjError('MEMBER_TOO_LONG', `member name of ${b.length} bytes exceeds ${MAX_MEMBER_NAME_LEN}`, {
      details: { length: b.length, max: MAX_MEMBER_NAME_LEN },
    });
  }
  return b;
}

/** A set element: 1..511 bytes (zero length is the existence marker). */
export function checkElement(element: Bytes): Buffer {
  const b = toBuffer(element);
  if (b.length === 0) throw new LmjError('INVALID_PARAM', 'set element must not be empty');
  if (b.length > MAX_ELEMENT_LEN) {
    throw new LmjError('MEMBER_TOO_LONG', `set element of ${b.length} bytes exceeds ${MAX_ELEMENT_LEN}`, {
      details: { length: b.length, max: MAX_ELEMENT_LEN },
    });
  }
  return b;
}

/** A member value: any bytes. */
export function checkValue(value: Bytes): Buffer {
  return toBuffer(value);
}

/** Validated members of one object, and the order (by name bytes, stable) to write them in. */
export interface CheckedMembers {
  names: readonly Buffer[];
  values: readonly Buffer[];
  /** Indexes in key order; null when the names already are. */
  order: number[] | null;
}

/**
 * Validates parallel name/value lists (every name before anything is written) and sorts
 * their indexes by name. Writing a new object's keys in key order makes each insert an
 * append at the end of a B+tree page, which LMDB splits full instead of in half. Equal
 * names keep their input order, so the last value wins as with one `memberPut` each.
 * Lists of Buffers are used as they are (no copy on the hot path).
 */
export function checkMembers(names: readonly Bytes[], values: readonly Bytes[]): CheckedMembers {
  if (!Array.isArray(names) || !Array.isArray(values) || names.length !== values.length) {
    throw new LmjError('INVALID_PARAM', 'names and values must be arrays of the same length');
  }
  let allBuffers = true;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!Buffer.isBuffer(name) || name.length === 0 || name.length > MAX_MEMBER_NAME_LEN || !Buffer.isBuffer(values[i])) allBuffers = false;
  }
  const n = allBuffers ? (names as readonly Buffer[]) : names.map((x) => checkName(x));
  const v = allBuffers ? (values as readonly Buffer[]) : values.map((x) => checkValue(x));
  let sorted = true;
  for (let i = 1; i < n.length && sorted; i++) sorted = Buffer.compare(n[i - 1]!, n[i]!) <= 0;
  if (sorted) return { names: n, values: v, order: null };
  const order = n.map((_, i) => i).sort((a, b) => Buffer.compare(n[a]!, n[b]!));
  return { names: n, values: v, order };
}

/**
 * Builds `ptr ‖ name` keys in one reusable buffer. lmdb-js copies a key into its own
 * buffer on every call, so a view into scratch space is safe and saves an allocation
 * per operation on the hot path.
 */
export class KeyBuilder {
  private readonly scratch = Buffer.allocUnsafe(PTR_LEN + MAX_MEMBER_NAME_LEN + 1);
  /** One view per key length, created on first use: no allocation per key on the hot path. */
  private readonly views: (Buffer | undefined)[] = [];

  /** `ptr ‖ name` as a view valid until the next call. */
  member(ptr: Buffer, name: Buffer): Buffer {
    const scratch = this.scratch;
    scratch.set(ptr, 0);
    scratch.set(name, PTR_LEN);
    const len = PTR_LEN + name.length;
    let view = this.views[len];
    if (view === undefined) {
      view = scratch.subarray(0, len);
      this.views[len] = view;
    }
    return view;
  }
}

/** Byte equality of two pointers, checked from the end where pointers differ most. */
export function samePointer(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = PTR_LEN - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

/** The smallest key greater than every `ptr ‖ name` key: the exclusive end of a prefix range. */
export function prefixEnd(ptr: Buffer): Buffer {
  const end = Buffer.from(ptr);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Unreachable for valid pointers (byte 0 is 0x01 or 0x02).
  return Buffer.from([0xff, 0xff]);
}
