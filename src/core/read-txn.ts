/**
 * The read side of one LMJCore transaction over lmdb-js: the {@link ReadTxn} contract
 * of docs/storage.md on the `main` and `set` databases, and the guard against use after
 * the transaction ended. {@link Txn} (./txn.ts) adds the writes.
 *
 * lmdb-js routes every get to the environment's current write transaction when one is
 * open (and to its shared read snapshot otherwise), so this class holds no lmdb handle
 * of its own: it validates pointers and names, builds keys and reads.
 */
import { OBJECT_TYPE, SET_TYPE } from '../codec/types.js';
import { LmjError } from '../errors.js';
import { auditGhosts } from './audit.js';
import { checkElement, checkName, checkPointer, checkTyped, toBuffer } from './bytes.js';
import { docGet } from './document.js';
import type { EngineContext } from './engine-context.js';
import { nativeReadingScan, readOwnedReadingColumns, readReadingColumns, readingAggregates, type AggregateRequest, type ReadingColumns } from './reading-columns.js';
import { readMembers, readRange } from './txn-read.js';
import type { Bytes, GhostMember, MainEntry, ObjectResult, RangeOptions, ReadError, ReadTxn, SetResult } from './types.js';

/** The reads of a transaction handed to `read`/`write`/`writeAsync` callbacks. */
export class TxnReads implements ReadTxn {
  /** Set when the callback returned or threw; any later use throws TXN_FINISHED. */
  finished = false;
  /** True while a child transaction runs: LMDB forbids using the parent meanwhile. */
  protected suspended = false;

  constructor(
    protected readonly ctx: EngineContext,
    readonly writable: boolean,
  ) {}

  /** Throws TXN_FINISHED once the transaction ended or while its child runs. */
  protected live(): void {
    if (this.finished) throw new LmjError('TXN_FINISHED');
    if (this.suspended) throw new LmjError('TXN_FINISHED', 'parent transaction used while its child transaction runs');
  }

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
}
