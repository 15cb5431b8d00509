/**
 * One LMJCore transaction over lmdb-js (read or write), implementing the
 * {@link WriteTxn} contract of docs/storage.md on the `main` and `set` databases.
 *
 * lmdb-js routes every get/put to the environment's current write transaction when
 * one is open (and to its shared read snapshot otherwise), so this class holds no
 * lmdb handle of its own: it validates, builds keys, enforces the existence-marker
 * rules, and guards against use after the transaction ended.
 */
import { OBJECT_TYPE, SET_TYPE } from '../codec/types.js';
import { LmjError } from '../errors.js';
import { auditGhosts, repairGhosts } from './audit.js';
import { MARKER, checkElement, checkMembers, checkName, checkPointer, checkTyped, checkValue, prefixEnd, samePointer, toBuffer } from './bytes.js';
import { docGet, docPut } from './document.js';
import type { EngineContext } from './engine-context.js';
import { KnownPointers } from './known-pointers.js';
import { nativeReadingScan, nativeRecordItems, readOwnedReadingColumns, readReadingColumns, readingAggregates, type AggregateRequest, type ReadingColumns } from './reading-columns.js';
import { readMembers, readRange } from './txn-read.js';
import type {
  Bytes,
  GhostMember,
  MainEntry,
  ObjectResult,
  RangeOptions,
  ReadError,
  SetResult,
  WriteTxn,
} from './types.js';

const NO_DUP = Object.freeze({ noDupData: true });

/** Throws INVALID_PARAM when a transaction callback returned a promise. */
export function assertSync(result: unknown): void {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    throw new LmjError('INVALID_PARAM', 'transaction callbacks must be synchronous (got a promise)');
  }
}

/** A read or write transaction handed to `read`/`write`/`writeAsync` callbacks. */
export class Txn implements WriteTxn {
  /** Set when the callback returned or threw; any later use throws TXN_FINISHED. */
  finished = false;
  /** True while a child transaction runs: LMDB forbids using the parent meanwhile. */
  private suspended = false;
  /** Entity pointers known to exist in this transaction (./known-pointers.ts). */
  private readonly known = new KnownPointers();
  /** The last pointer `objPointer` handed out, until `objCreateWith` uses it. */
  private fresh: Buffer | null = null;
  private freshValid = false;

  constructor(
    private readonly ctx: EngineContext,
    readonly writable: boolean,
  ) {}

  private live(): void {
    if (this.finished) throw new LmjError('TXN_FINISHED');
    if (this.suspended) throw new LmjError('TXN_FINISHED', 'parent transaction used while its child transaction runs');
  }

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

  // ---- reads -------------------------------------------------------------

  exists(ptr: Uint8Array): boolean {
    this.live();
    return this.ctx.h.set.getBinaryFast(checkPointer(ptr)) !== undefined;
  }

  objGet(ptr: Uint8Array): ObjectResult {
    this.live();
    return readMembers(this.ctx, checkTyped(ptr, OBJECT_TYPE));
  }

  memberGet(ptr: Uint8Array, name: Bytes): Buffer {
    this.live();
    const p = checkTyped(ptr, OBJECT_TYPE);
    const n = checkName(name);
    const h = this.ctx.h;
    const value = h.main.getBinary(this.ctx.keys.member(p, n));
    if (value !== undefined) return value;
    if (h.set.getBinaryFast(p) === undefined) {
      throw new LmjError('ENTITY_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    }
    if (h.set.doesExist(p, n)) throw new LmjError('MEMBER_MISSING', undefined, { details: { ptr: p.toString('hex') } });
    throw new LmjError('MEMBER_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
  }

  memberValue(ptr: Uint8Array, name: Bytes): Buffer | undefined {
    this.live();
    return this.ctx.h.main.getBinary(this.ctx.keys.member(checkTyped(ptr, OBJECT_TYPE), checkName(name)));
  }

  memberList(ptr: Uint8Array): Buffer[] {
    this.live();
    return this.elementsOrThrow(checkTyped(ptr, OBJECT_TYPE));
  }

  setGet(ptr: Uint8Array): SetResult {
    this.live();
    const p = checkTyped(ptr, SET_TYPE);
    const elements = this.elementsOf(p);
    if (elements === undefined) return { elements: [], errors: [{ code: 'ENTITY_NOT_FOUND', ptr: p } satisfies ReadError] };
    return { elements, errors: [] };
  }

  setContains(ptr: Uint8Array, element: Bytes): boolean {
    this.live();
    return this.ctx.h.set.doesExist(checkTyped(ptr, SET_TYPE), checkElement(element));
  }

  setCount(ptr: Uint8Array): number {
    this.live();
    const p = checkTyped(ptr, SET_TYPE);
    const set = this.ctx.h.set;
    const first = set.getBinaryFast(p);
    if (first === undefined) throw new LmjError('ENTITY_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    const count = set.getValuesCount(p);
    // The marker sorts first when present; it is not an element.
    return first.length === 0 ? count - 1 : count;
  }

  setRange(ptr: Uint8Array, options: RangeOptions = {}): Buffer[] {
    this.live();
    return readRange(this.ctx, checkTyped(ptr, SET_TYPE), options);
  }

  mainRange(from: Uint8Array, to?: Uint8Array): Iterable<MainEntry> {
    this.live();
    const q: Record<string, unknown> = { start: toBuffer(from) };
    if (to !== undefined) q['end'] = toBuffer(to);
    // lmdb-js's own lazy range iterable, unwrapped: a generator around it costs more per entry than the entry.
    return this.ctx.h.main.getRange(q) as Iterable<MainEntry>;
  }

  readingColumns(set: Uint8Array, from: Uint8Array | null, to: Uint8Array | null, out: ReadingColumns): void {
    this.live();
    const p = checkTyped(set, SET_TYPE);
    readReadingColumns(this.ctx, this, this.writable, p, from === null ? null : toBuffer(from), to === null ? null : toBuffer(to), out);
  }

  ownedReadingColumns(owner: Uint8Array, member: Bytes, from: Uint8Array | null, to: Uint8Array | null, out: ReadingColumns): void {
    this.live();
    const p = checkTyped(owner, OBJECT_TYPE);
    const n = checkName(member);
    // A copy: the key builder's view is overwritten by the gets of the portable path.
    readOwnedReadingColumns(this.ctx, this, this.writable, p, n, Buffer.from(this.ctx.keys.member(p, n)), from === null ? null : toBuffer(from), to === null ? null : toBuffer(to), out);
  }

  readingAggregates(owner: Uint8Array, member: Bytes, from: Uint8Array | null, to: Uint8Array | null, req: AggregateRequest): Float64Array | null {
    this.live();
    const key = this.ctx.keys.member(checkTyped(owner, OBJECT_TYPE), checkName(member));
    return readingAggregates(this.ctx, this.writable, key, from === null ? null : toBuffer(from), to === null ? null : toBuffer(to), req);
  }

  get nativeScan(): boolean {
    return !this.writable && nativeReadingScan(this.ctx);
  }

  readingRecordItems(set: Uint8Array, after: Uint8Array | undefined, limit: number, maxBytes: number): { items: Buffer; count: number; cut: boolean } | null {
    this.live();
    return nativeRecordItems(this.ctx, this.writable, checkTyped(set, SET_TYPE), after === undefined ? undefined : toBuffer(after), limit, maxBytes);
  }

  audit(ptr?: Uint8Array): GhostMember[] {
    this.live();
    return auditGhosts(this.ctx, ptr === undefined ? undefined : checkTyped(ptr, OBJECT_TYPE));
  }

  docGet(ptr: Uint8Array): unknown {
    this.live();
    return docGet(this, checkPointer(ptr));
  }

  /** Names/elements of an entity without the marker; undefined when the entity is absent. */
  private elementsOf(p: Buffer): Buffer[] | undefined {
    let seen = false;
    const out: Buffer[] = [];
    for (const v of this.ctx.h.set.getValues(p)) {
      seen = true;
      if (v.length > 0) out.push(v);
    }
    return seen ? out : undefined;
  }

  private elementsOrThrow(p: Buffer): Buffer[] {
    const out = this.elementsOf(p);
    if (out === undefined) throw new LmjError('ENTITY_NOT_FOUND', undefined, { details: { ptr: p.toString('hex') } });
    return out;
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

