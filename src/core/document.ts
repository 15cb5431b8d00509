/**
 * The generic document API: a nested JSON-like value ↔ pointer-linked LMJCore
 * entities (docs/storage.md, "Documents").
 *
 * - object (plain object or Map) → an object entity, one member per key;
 * - array → a set entity whose elements are `index (u32 BE) ‖ ref`, so the set's
 *   native byte order is array order;
 * - every member value / element `ref` starts with a kind byte:
 *   `0x00` ‖ CBOR scalar, `0x01` ‖ 17-byte pointer of a child object or set,
 *   `0x02` ‖ 17-byte pointer of a "box" object holding a scalar too long for a set
 *   element under its member `v`.
 *
 * Objects come back as plain objects when every member name is valid UTF-8 (and
 * not `__proto__`), otherwise as a `Map<Buffer, unknown>` so binary names survive.
 */
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { MAX_ELEMENT_LEN, OBJECT_TYPE, PTR_LEN, SET_TYPE } from '../codec/types.js';
import { LmjError } from '../errors.js';
import { checkName } from './bytes.js';
import type { ReadTxn, WriteTxn } from './types.js';

/** Kind byte: a CBOR-encoded scalar follows. */
export const KIND_SCALAR = 0x00;
/** Kind byte: the pointer of a child object or set follows. */
export const KIND_REF = 0x01;
/** Kind byte: the pointer of a box object (member `v` = kind 0x00 scalar) follows. */
export const KIND_BOX = 0x02;
/** Deepest nesting docPut/docGet accept. */
export const MAX_DOC_DEPTH = 64;
const INDEX_LEN = 4;
const BOX_MEMBER = Buffer.from('v');

type Container = Record<string, unknown> | Map<unknown, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  if (Array.isArray(value) || value instanceof Map) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function scalarBytes(value: unknown): Buffer {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') {
    throw new LmjError('UNSUPPORTED_VALUE', `cannot store a ${t} in a document`);
  }
  try {
    const encoded = cborEncode(value);
    const out = Buffer.allocUnsafe(encoded.length + 1);
    out[0] = KIND_SCALAR;
    out.set(encoded, 1);
    return out;
  } catch (error) {
    throw new LmjError('UNSUPPORTED_VALUE', `cannot encode document value: ${(error as Error).message}`, { cause: error });
  }
}

function refBytes(kind: number, ptr: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PTR_LEN + 1);
  out[0] = kind;
  ptr.copy(out, 1);
  return out;
}

function nameBytes(key: unknown): Buffer {
  if (typeof key === 'string' || key instanceof Uint8Array) {
    const b = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (b.length === 0) throw new LmjError('EMPTY_KEY', 'document member names must not be empty');
    return checkName(b);
  }
  throw new LmjError('UNSUPPORTED_VALUE', 'document object keys must be strings or bytes', { details: { got: typeof key } });
}

class DocWriter {
  private readonly path = new Set<object>();

  constructor(private readonly txn: WriteTxn) {}

  /** Stores a container and returns its pointer. */
  container(value: Container, depth: number): Buffer {
    if (depth > MAX_DOC_DEPTH) throw new LmjError('TOO_DEEP', `document nested deeper than ${MAX_DOC_DEPTH}`);
    if (this.path.has(value)) throw new LmjError('INVALID_PARAM', 'document contains a cycle');
    this.path.add(value);
    try {
      return Array.isArray(value) ? this.array(value, depth) : this.object(value, depth);
    } finally {
      this.path.delete(value);
    }
  }

  private object(value: Record<string, unknown> | Map<unknown, unknown>, depth: number): Buffer {
    const entries: [Buffer, unknown][] =
      value instanceof Map ? [...value].map(([k, v]) => [nameBytes(k), v]) : Object.entries(value).map(([k, v]) => [nameBytes(k), v]);
    const ptr = this.txn.objCreate();
    for (const [name, child] of entries) {
      this.txn.memberPut(ptr, name, this.ref(child, depth, false));
    }
    return ptr;
  }

  private array(value: unknown[], depth: number): Buffer {
    const ptr = this.txn.setCreate();
    for (let i = 0; i < value.length; i++) {
      const ref = this.ref(value[i], depth, true);
      const el = Buffer.allocUnsafe(INDEX_LEN + ref.length);
      el.writeUInt32BE(i, 0);
      ref.copy(el, INDEX_LEN);
      this.txn.setAdd(ptr, el);
    }
    return ptr;
  }

  /** The kind-prefixed bytes for one value; boxes scalars too long for a set element. */
  private ref(value: unknown, depth: number, inSet: boolean): Buffer {
    if (isContainer(value)) return refBytes(KIND_REF, this.container(value, depth + 1));
    const scalar = scalarBytes(value);
    if (!inSet || scalar.length + INDEX_LEN <= MAX_ELEMENT_LEN) return scalar;
    const box = this.txn.objCreate();
    this.txn.memberPut(box, BOX_MEMBER, scalar);
    return refBytes(KIND_BOX, box);
  }
}

/** Stores `value` (an object, Map or array at the top) and returns the root pointer. */
export function docPut(txn: WriteTxn, value: unknown): Buffer {
  if (!isContainer(value)) {
    throw new LmjError('NOT_AN_OBJECT', 'a document must be an object, Map or array at the top');
  }
  return new DocWriter(txn).container(value, 1);
}

function corrupt(message: string, ptr: Buffer): LmjError {
  return new LmjError('STORE_CORRUPT', message, { details: { ptr: ptr.toString('hex') } });
}

function decodeScalar(bytes: Buffer, owner: Buffer): unknown {
  try {
    return cborDecode(bytes.subarray(1));
  } catch (error) {
    throw new LmjError('STORE_CORRUPT', `undecodable document scalar: ${(error as Error).message}`, {
      cause: error,
      details: { ptr: owner.toString('hex') },
    });
  }
}

function readRef(txn: ReadTxn, bytes: Buffer, owner: Buffer, depth: number): unknown {
  const kind = bytes[0];
  if (kind === KIND_SCALAR) return decodeScalar(bytes, owner);
  if ((kind === KIND_REF || kind === KIND_BOX) && bytes.length === PTR_LEN + 1) {
    const child = bytes.subarray(1);
    if (kind === KIND_REF) return readEntity(txn, child, depth + 1);
    const boxed = txn.memberGet(child, BOX_MEMBER);
    if (boxed[0] !== KIND_SCALAR) throw corrupt('document box does not hold a scalar', child);
    return decodeScalar(boxed, child);
  }
  throw corrupt(`unknown document value kind ${String(kind)}`, owner);
}

function readEntity(txn: ReadTxn, ptr: Buffer, depth: number): unknown {
  if (depth > MAX_DOC_DEPTH) throw new LmjError('TOO_DEEP', `document nested deeper than ${MAX_DOC_DEPTH}`);
  if (ptr[0] === SET_TYPE) {
    const { elements, errors } = txn.setGet(ptr);
    if (errors.length > 0) throw new LmjError('ENTITY_NOT_FOUND', undefined, { details: { ptr: ptr.toString('hex') } });
    const out: unknown[] = [];
    for (const el of elements) {
      if (el.length <= INDEX_LEN) throw corrupt('document array element too short', ptr);
      out[el.readUInt32BE(0)] = readRef(txn, el.subarray(INDEX_LEN), ptr, depth);
    }
    return out;
  }
  if (ptr[0] !== OBJECT_TYPE) throw new LmjError('INVALID_POINTER');
  const { members, errors } = txn.objGet(ptr);
  const first = errors[0];
  if (first !== undefined) {
    throw new LmjError(first.code, undefined, {
      details: { ptr: ptr.toString('hex'), name: first.name?.toString('hex') },
    });
  }
  const textual = members.every((m) => {
    const s = m.name.toString('utf8');
    return s !== '__proto__' && Buffer.byteLength(s) === m.name.length && Buffer.from(s, 'utf8').equals(m.name);
  });
  if (!textual) {
    const map = new Map<Buffer, unknown>();
    for (const m of members) map.set(m.name, readRef(txn, m.value, ptr, depth));
    return map;
  }
  const obj: Record<string, unknown> = {};
  for (const m of members) obj[m.name.toString('utf8')] = readRef(txn, m.value, ptr, depth);
  return obj;
}

/** Rebuilds the value stored by {@link docPut} at `ptr`. */
export function docGet(txn: ReadTxn, ptr: Buffer): unknown {
  return readEntity(txn, ptr, 1);
}
