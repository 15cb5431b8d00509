/**
 * Column batches of readings: the elements `[from, to)` of a `readings` set (8-byte
 * big-endian ts ‖ 17-byte reading pointer) and the wanted members of each reading, in
 * one call per batch. Numeric CBOR scalars arrive decoded in `nums`; any other value
 * is only flagged (`kinds` 2) for the caller to read and decode itself.
 *
 * Two implementations with identical output: the addon's scan (native/src/scan.cc),
 * which walks the set and reads `main` inside lmdb-js's own read transaction with the
 * liblmdb sources lmdb-js is built from (used only when both report the same liblmdb
 * version, in a read transaction with no write transaction open on the environment),
 * and a TypeScript loop over the same transaction's cursor range and gets.
 */
import * as lmdb from 'lmdb';
import { SET_TYPE, type ReadingScanKernel } from '../codec/types.js';
import { ERROR_CODES, LmjError, fromStatus } from '../errors.js';
import type { EngineContext } from './engine-context.js';
import type { LmdbDb } from './lmdb-env.js';
import type { ReadTxn } from './types.js';

/** Bytes of one `readings` element: ts (8) ‖ reading pointer (17). */
export const ELEMENT_LEN = 25;

/** `kinds` values. */
export const KIND_NONE = 0;
export const KIND_NUMBER = 1;
export const KIND_OTHER = 2;

/** Reusable output of {@link ReadTxn.readingColumns}: row r, member i at slot r·m + i. */
export class ReadingColumns {
  /** Row r's element at [r·25, r·25 + 25). */
  readonly elements: Buffer;
  readonly kinds: Uint8Array;
  readonly nums: Float64Array;
  /** Rows filled by the last call. */
  rows = 0;
  /** True when the last call reached the end of the range (no further call needed). */
  done = false;
  /** The set pointer read by {@link ReadTxn.ownedReadingColumns}, for the next batches. */
  readonly set = Buffer.alloc(17);

  constructor(
    readonly members: readonly Buffer[],
    readonly capacity = 1024,
  ) {
    this.elements = Buffer.alloc(capacity * ELEMENT_LEN);
    this.kinds = new Uint8Array(capacity * members.length);
    this.nums = new Float64Array(capacity * members.length);
  }

  /** The element range that continues after the last filled row (call again when !done). */
  after(): Buffer {
    const last = this.elements.subarray((this.rows - 1) * ELEMENT_LEN, this.rows * ELEMENT_LEN);
    // The smallest element above the last one.
    return Buffer.concat([last, Buffer.alloc(1)]);
  }
}

/**
 * The numeric fast paths of stored values (canonical CBOR integers below 2^32 and
 * doubles), shared with the SQL decoder (src/query/values.ts `decodeSql`): the value as
 * a number, or undefined for anything else.
 */
export function fastNumber(b: Buffer): number | undefined {
  const h = b[0];
  if (h === undefined) return undefined;
  if (h < 0x18) return h;
  if (h === 0x18 && b.length === 2) return b[1] as number;
  if (h === 0x19 && b.length === 3) return b.readUInt16BE(1);
  if (h === 0x1a && b.length === 5) return b.readUInt32BE(1);
  if (h >= 0x20 && h < 0x38) return -1 - (h - 0x20);
  if (h === 0x38 && b.length === 2) return -1 - (b[1] as number);
  if (h === 0xfb && b.length === 9) return b.readDoubleBE(1);
  return undefined;
}

interface NativeDb {
  db?: { dbi?: unknown };
  env?: { writeTxn?: unknown };
  useReadTransaction(): { address?: unknown; done(): void };
}

const lmdbJsVersion = (lmdb as unknown as { version?: { versionString?: string } }).version?.versionString;

/** The kernel when it may read this environment now, else undefined. */
function usableKernel(ctx: EngineContext, writable: boolean): ReadingScanKernel | undefined {
  const k = ctx.codec.scan;
  if (k === undefined || writable || k.lmdbVersion !== lmdbJsVersion) return undefined;
  // lmdb-js routes reads to an open write transaction; the kernel reads the read snapshot.
  if ((ctx.h.main as unknown as NativeDb).env?.writeTxn) return undefined;
  return k;
}

function dbiOf(db: LmdbDb): number | undefined {
  const dbi = (db as unknown as NativeDb).db?.dbi;
  return typeof dbi === 'number' ? dbi : undefined;
}

/** Runs `fn` with lmdb-js's current read transaction and the two dbis; undefined when unavailable. */
function withNativeTxn<T>(ctx: EngineContext, fn: (txn: number, setDbi: number, mainDbi: number) => T): T | undefined {
  const setDbi = dbiOf(ctx.h.set);
  const mainDbi = dbiOf(ctx.h.main);
  if (setDbi === undefined || mainDbi === undefined) return undefined;
  // The same read transaction lmdb-js's own gets in this callback use (renewed if needed).
  const txn = (ctx.h.main as unknown as NativeDb).useReadTransaction();
  try {
    if (typeof txn.address !== 'number' || txn.address === 0) return undefined;
    return fn(txn.address, setDbi, mainDbi);
  } finally {
    txn.done();
  }
}

/** STORE_CORRUPT: the owner's member that should hold the readings set does not. */
function notASet(ownerMember: Buffer): LmjError {
  const owner = ownerMember.subarray(0, 17).toString('hex');
  const member = ownerMember.subarray(17).toString('utf8');
  return new LmjError('STORE_CORRUPT', `member "${member}" of object ${owner} is missing or not a set pointer`);
}

/** `key`: a set pointer, or `owner ‖ member` (the set pointer then goes to `out.set`). */
function nativeBatch(k: ReadingScanKernel, ctx: EngineContext, key: Buffer, from: Buffer | null, to: Buffer | null, out: ReadingColumns): boolean {
  const ok = withNativeTxn(ctx, (txn, setDbi, mainDbi) => {
    const rows = k.scanReadings(txn, setDbi, mainDbi, key, from, to, out.members, out.elements, out.kinds, out.nums, out.set);
    if (rows === ERROR_CODES.STORE_CORRUPT.errno) throw notASet(key);
    if (rows < 0) throw fromStatus(rows, 'native reading scan failed');
    out.rows = rows;
    out.done = rows < out.capacity;
    return true;
  });
  return ok === true;
}

/** What {@link readingAggregates} computes (see ReadingScanKernel.aggregateReadings). */
export interface AggregateRequest {
  members: readonly Buffer[];
  preds: Float64Array;
  width: number;
  aggs: Float64Array;
  maxRows: number;
}

/**
 * The kernel's answer status: the owner object does not exist (nothing read). Status 3
 * (the owner's member is absent or not a set pointer) is left to the caller to resolve
 * with its own error, like status 1 (values the kernel does not aggregate).
 */
export const AGG_NO_OWNER = 2;

/**
 * The kernel's aggregate answer for the readings in `[from, to)` of the set that member
 * `member` of object `owner` points to, resolved inside the same read transaction (no
 * lmdb-js get for the pointer), or null where the kernel cannot run. `ownerMember` is
 * the key `owner ‖ member`.
 */
export function readingAggregates(ctx: EngineContext, writable: boolean, ownerMember: Buffer, from: Buffer | null, to: Buffer | null, req: AggregateRequest): Float64Array | null {
  const k = usableKernel(ctx, writable);
  if (k === undefined) return null;
  const out = withNativeTxn(ctx, (txn, setDbi, mainDbi) => {
    const r = k.aggregateReadings(txn, setDbi, mainDbi, ownerMember, from, to, req.members, req.preds, req.width, req.aggs, req.maxRows);
    if (typeof r === 'number') throw fromStatus(r, 'native reading aggregate failed');
    return r;
  });
  return out ?? null;
}

function portableBatch(txn: ReadTxn, set: Buffer, from: Buffer | null, to: Buffer | null, out: ReadingColumns): void {
  const m = out.members.length;
  let rows = 0;
  let start = from;
  for (;;) {
    const range: { from?: Buffer; to?: Buffer; limit: number } = { limit: out.capacity - rows };
    if (start !== null) range.from = start;
    if (to !== null) range.to = to;
    const els = txn.setRange(set, range);
    for (const el of els) {
      if (el.length !== ELEMENT_LEN) continue;
      el.copy(out.elements, rows * ELEMENT_LEN);
      const ptr = el.subarray(8);
      for (let i = 0; i < m; i++) {
        const v = txn.memberValue(ptr, out.members[i] as Buffer);
        const n = v === undefined ? undefined : fastNumber(v);
        out.kinds[rows * m + i] = v === undefined ? KIND_NONE : n === undefined ? KIND_OTHER : KIND_NUMBER;
        out.nums[rows * m + i] = n ?? 0;
      }
      rows++;
    }
    const last = els[els.length - 1];
    if (last === undefined || els.length < range.limit || rows === out.capacity) {
      out.rows = rows;
      out.done = last === undefined || els.length < range.limit;
      return;
    }
    // Only skipped (non-reading) elements kept the batch short: continue after them.
    start = Buffer.concat([last, Buffer.alloc(1)]);
  }
}

/** Fills `out` with the next batch of `set`'s readings in `[from, to)`. */
export function readReadingColumns(ctx: EngineContext, txn: ReadTxn, writable: boolean, set: Buffer, from: Buffer | null, to: Buffer | null, out: ReadingColumns): void {
  const k = usableKernel(ctx, writable);
  if (k !== undefined && nativeBatch(k, ctx, set, from, to, out)) return;
  portableBatch(txn, set, from, to, out);
}

/**
 * The first batch of the readings in `[from, to)` of the set that member `member` of
 * object `owner` points to (`ownerMember` = `owner ‖ member`), the pointer read in the
 * same call with the native codec (no lmdb-js get), into `out.set` for the next
 * batches. No such owner: no rows. The member absent or not a set pointer: STORE_CORRUPT.
 */
export function readOwnedReadingColumns(ctx: EngineContext, txn: ReadTxn, writable: boolean, owner: Buffer, member: Buffer, ownerMember: Buffer, from: Buffer | null, to: Buffer | null, out: ReadingColumns): void {
  const k = usableKernel(ctx, writable);
  if (k !== undefined && nativeBatch(k, ctx, ownerMember, from, to, out)) return;
  if (!txn.exists(owner)) {
    out.rows = 0;
    out.done = true;
    return;
  }
  const v = txn.memberValue(owner, member);
  if (v === undefined || v.length !== 17 || v[0] !== SET_TYPE) throw notASet(ownerMember);
  v.copy(out.set);
  portableBatch(txn, out.set, from, to, out);
}

/** Whether {@link readReadingColumns} runs natively in a read transaction of this store now. */
export function nativeReadingScan(ctx: EngineContext): boolean {
  return usableKernel(ctx, false) !== undefined && dbiOf(ctx.h.set) !== undefined;
}
