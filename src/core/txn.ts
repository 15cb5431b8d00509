/**
 * One LMJCore transaction over lmdb-js (read or write), implementing the
 * {@link WriteTxn} contract of docs/storage.md: the reads of {@link TxnReads}
 * (./read-txn.ts) plus the object and set writes, maintenance and child transactions.
 *
 * lmdb-js routes every put to the environment's current write transaction, so this
 * class holds no lmdb handle of its own: it validates, builds keys and enforces the
 * existence-marker rules.
 */
import { OBJECT_TYPE, SET_TYPE } from '../codec/types.js';
import { LmjError } from '../errors.js';
import { auditGhosts, repairGhosts } from './audit.js';
import { MARKER, checkElement, checkMembers, checkName, checkTyped, checkValue, prefixEnd, samePointer } from './bytes.js';
import { docPut } from './document.js';
import { KnownPointers } from './known-pointers.js';
import { TxnReads } from './read-txn.js';
import type { Bytes, GhostMember, WriteTxn } from './types.js';

const NO_DUP = Object.freeze({ noDupData: true });

/** Throws INVALID_PARAM when a transaction callback returned a promise. */
export function assertSync(result: unknown): void {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    throw new LmjError('INVALID_PARAM', 'transaction callbacks must be synchronous (got a promise)');
  }
}

/** A read or write transaction handed to `read`/`write`/`writeAsync` callbacks. */
export class Txn extends TxnReads implements WriteTxn {
  /** Entity pointers known to exist in this transaction (./known-pointers.ts). */
  private readonly known = new KnownPointers();
  /** The last pointer `objPointer` handed out, until `objCreateWith` uses it. */
  private fresh: Buffer | null = null;
  private freshValid = false;

  private writing(): void {
    this.live();
    if (!this.writable) throw new LmjError('READONLY_TXN');
  }

  private requireEntity(p: Buffer): void {
    if (this.known.has(p)) return;
    if (this.ctx.h.set.getBinaryFast(p) === undefined) {
      throw new LmjError('ENTITY_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    }
    this.known.add(p);
  }

  /** Puts the existence marker back if the last member/element is gone. */
  private keepMarker(p: Buffer): void {
    const set = this.ctx.h.set;
    if (set.getBinaryFast(p) === undefined) set.putSync(p, MARKER);
  }

  // ---- object writes -----------------------------------------------------

  objCreate(): Buffer {
    this.writing();
    const p = this.ctx.codec.newPointer(OBJECT_TYPE, this.ctx.partition);
    this.ctx.h.set.putSync(p, MARKER);
    this.known.add(p);
    return p;
  }

  objRegister(ptr: Uint8Array): void {
    this.writing();
    this.register(checkTyped(ptr, OBJECT_TYPE));
  }

  objPointer(): Buffer {
    this.writing();
    const p = this.ctx.codec.newPointer(OBJECT_TYPE, this.ctx.partition);
    (this.fresh ??= Buffer.alloc(17)).set(p);
    this.freshValid = true;
    return p;
  }

  objCreateWith(ptr: Uint8Array, names: readonly Bytes[], values: readonly Bytes[]): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkMembers(names, values);
    const h = this.ctx.h;
    // The marker as `objCreate` puts it (LMDB drops it at the second name but counts it).
    // A pointer just handed out by objPointer is new by construction: no lookup.
    const fresh = this.freshValid && samePointer(p, this.fresh!);
    this.freshValid = false;
    const marker = fresh || (!this.known.has(p) && h.set.getBinaryFast(p) === undefined);
    const { names: ns, values: vs, order } = n;
    const count = ns.length;
    const w = this.ctx.nativeWrites();
    if (w !== null) {
      // The same puts in the same order as below, in one native call.
      w.object(p, marker, ns, vs, order);
      this.known.add(p);
      return;
    }
    if (marker) h.set.putSync(p, MARKER);
    for (let k = 0; k < count; k++) h.set.putSync(p, ns[order === null ? k : order[k]!]!, NO_DUP);
    const keys = this.ctx.keys;
    for (let k = 0; k < count; k++) {
      const i = order === null ? k : order[k]!;
      h.main.putSync(keys.member(p, ns[i]!), vs[i]!);
    }
    this.known.add(p);
  }

  memberPut(ptr: Uint8Array, name: Bytes, value: Bytes): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkName(name);
    const v = checkValue(value);
    this.requireEntity(p);
    const w = this.ctx.nativeWrites();
    if (w !== null) return w.member(p, n, v);
    const h = this.ctx.h;
    h.set.putSync(p, n, NO_DUP);
    h.main.putSync(this.ctx.keys.member(p, n), v);
  }

  memberRegister(ptr: Uint8Array, name: Bytes): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkName(name);
    this.requireEntity(p);
    this.putName(p, n);
  }

  memberValueDel(ptr: Uint8Array, name: Bytes): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkName(name);
    this.requireEntity(p);
    const h = this.ctx.h;
    const removed = h.main.removeSync(this.ctx.keys.member(p, n));
    if (!removed && !h.set.doesExist(p, n)) {
      throw new LmjError('MEMBER_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    }
  }

  memberDel(ptr: Uint8Array, name: Bytes): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkName(name);
    this.requireEntity(p);
    const h = this.ctx.h;
    // Value first, then the name (docs/storage.md, On-disk format): a crash in between leaves a legal "missing value".
    const hadValue = h.main.removeSync(this.ctx.keys.member(p, n));
    const hadName = h.set.removeSync(p, n);
    if (!hadValue && !hadName) throw new LmjError('MEMBER_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    if (hadName) this.keepMarker(p);
  }

  objDel(ptr: Uint8Array): void {
    this.writing();
    const p = checkTyped(ptr, OBJECT_TYPE);
    this.requireEntity(p);
    const h = this.ctx.h;
    // Collect first: deleting under a live cursor would skip keys.
    const keys = [...h.main.getKeys({ start: p, end: prefixEnd(p) })];
    for (const k of keys) h.main.removeSync(k);
    h.set.removeSync(p);
    this.known.clear();
  }

  // ---- set writes --------------------------------------------------------

  setCreate(): Buffer {
    this.writing();
    const p = this.ctx.codec.newPointer(SET_TYPE, this.ctx.partition);
    this.ctx.h.set.putSync(p, MARKER);
    this.known.add(p);
    return p;
  }

  setRegister(ptr: Uint8Array): void {
    this.writing();
    this.register(checkTyped(ptr, SET_TYPE));
  }

  setAdd(ptr: Uint8Array, element: Bytes): void {
    if (!this.setPut(ptr, element)) {
      throw new LmjError('MEMBER_EXISTS', 'element already in the set', { details: { ptr: Buffer.from(ptr).toString('hex') } });
    }
  }

  setPut(ptr: Uint8Array, element: Bytes): boolean {
    this.writing();
    const p = checkTyped(ptr, SET_TYPE);
    const e = checkElement(element);
    this.requireEntity(p);
    return this.putName(p, e);
  }

  /** Registers a member name or set element (no-dup); true when it was not there yet. */
  private putName(p: Buffer, name: Buffer): boolean {
    const w = this.ctx.nativeWrites();
    return w === null ? this.ctx.h.set.putSync(p, name, NO_DUP) : w.name(p, name);
  }

  setRemove(ptr: Uint8Array, element: Bytes): void {
    this.writing();
    const p = checkTyped(ptr, SET_TYPE);
    const e = checkElement(element);
    this.requireEntity(p);
    if (!this.ctx.h.set.removeSync(p, e)) {
      throw new LmjError('MEMBER_NOT_FOUND', 'element not in the set', { details: { ptr: p.toString('hex') } });
    }
    this.keepMarker(p);
  }

  setDel(ptr: Uint8Array): void {
    this.writing();
    const p = checkTyped(ptr, SET_TYPE);
    this.requireEntity(p);
    this.ctx.h.set.removeSync(p);
    this.known.clear();
  }

  private register(p: Buffer): void {
    if (this.freshValid && samePointer(p, this.fresh!)) this.freshValid = false;
    const set = this.ctx.h.set;
    if (set.getBinaryFast(p) === undefined) set.putSync(p, MARKER);
    this.known.add(p);
  }

  // ---- maintenance, documents, children ----------------------------------

  repair(ghosts?: GhostMember[]): number {
    this.writing();
    return repairGhosts(this.ctx, ghosts ?? auditGhosts(this.ctx, undefined));
  }

  docPut(value: unknown): Buffer {
    this.writing();
    // In a child transaction: a value refused halfway (too long a key deep inside) leaves
    // nothing behind even when the caller catches the error and commits.
    return this.child((c) => docPut(c, value));
  }

  child<T>(fn: (txn: WriteTxn) => T): T {
    this.live();
    if (!this.writable) throw new LmjError('READONLY_PARENT');
    const childTxn = new Txn(this.ctx, true);
    this.suspended = true;
    try {
      return this.ctx.h.main.childTransaction(() => {
        const result = fn(childTxn);
        assertSync(result);
        return result;
      });
    } finally {
      childTxn.finished = true;
      this.suspended = false;
      // The child may have deleted (or its abort may have undone) what we knew existed.
      this.known.clear();
    }
  }
}

