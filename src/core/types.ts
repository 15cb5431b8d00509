/**
 * The LMJCore engine's public contract (docs/storage.md, On-disk format). Implemented over the `lmdb`
 * package in this folder; used by the gateway, sync and router layers.
 *
 * Binary everywhere: pointers, member names, values and set elements are bytes.
 * Where a parameter is {@link Bytes}, a string is taken as its UTF-8 bytes.
 */
import type { Codec } from '../codec/types.js';
import type { AggregateRequest, ReadingColumns } from './reading-columns.js';

/** Bytes, or a string meaning its UTF-8 encoding. */
export type Bytes = Uint8Array | string;

/**
 * `safe`: a commit returns (or its promise resolves) only once the data is on disk
 * (fsync). `fast`: the OS flushes when it likes; a power cut may lose recent commits,
 * a process crash does not.
 */
export type Durability = 'safe' | 'fast';

/** Options for {@link LmjStore} opening. */
export interface OpenOptions {
  durability?: Durability;
  /** Initial map size in bytes; the map grows on demand instead of failing with MAP_FULL. */
  mapSize?: number;
  /** Codec used for pointer generation and key building (default: the loaded codec). */
  codec?: Codec;
  /** Partition written into pointers this store generates (default 0). */
  partition?: number;
  /** Open read-only (no writes, no file creation). */
  readOnly?: boolean;
  /** `fast` mode only: how often committed data is flushed to disk, in ms (default 1000). */
  flushIntervalMs?: number;
}

/** One object member as read. */
export interface Member {
  name: Buffer;
  value: Buffer;
}

/** One raw `main` entry: key = pointer (17 bytes) ‖ member name, and the value. */
export interface MainEntry {
  key: Buffer;
  value: Buffer;
}

/** A non-fatal read problem, reported like the C library's result `errors` body. */
export interface ReadError {
  code: 'ENTITY_NOT_FOUND' | 'MEMBER_MISSING';
  ptr: Buffer;
  /** The member name, for MEMBER_MISSING. */
  name?: Buffer;
}

/** Result of reading a whole object: members in byte order of their names. */
export interface ObjectResult {
  members: Member[];
  errors: ReadError[];
}

/** Result of reading a whole set: elements in byte order. */
export interface SetResult {
  elements: Buffer[];
  errors: ReadError[];
}

/** A `main` key under a pointer whose name is not registered in `set`: corruption. */
export interface GhostMember {
  ptr: Buffer;
  name: Buffer;
  value: Buffer;
}

/** Range query over a set's elements (byte order); bounds are inclusive-from, exclusive-to. */
export interface RangeOptions {
  from?: Bytes;
  to?: Bytes;
  /**
   * Cursor paging: forward, skip elements ≤ this one; reverse, skip elements ≥ this one.
   * Applied together with `from`/`to`.
   */
  after?: Bytes;
  limit?: number;
  reverse?: boolean;
}

/** Storage statistics of one instance. */
export interface StoreStat {
  path: string;
  mapSize: number;
  /** Bytes of the data file in use (last used page × page size). */
  usedBytes: number;
  mainEntries: number;
  setEntries: number;
  durability: Durability;
}

/** Operations allowed in any transaction. */
export interface ReadTxn {
  /** True while the entity's key exists in `set`. Throws INVALID_POINTER for a bad pointer. */
  exists(ptr: Uint8Array): boolean;
  /** All members with values; missing values and a missing entity go to `errors`, never thrown. */
  objGet(ptr: Uint8Array): ObjectResult;
  /** One member's value. Throws ENTITY_NOT_FOUND, MEMBER_NOT_FOUND, or MEMBER_MISSING (registered, no value). */
  memberGet(ptr: Uint8Array, name: Bytes): Buffer;
  /** One member's value or undefined, without the registration check (hot path). */
  memberValue(ptr: Uint8Array, name: Bytes): Buffer | undefined;
  /** Registered member names in byte order. Throws ENTITY_NOT_FOUND. */
  memberList(ptr: Uint8Array): Buffer[];
  /** All elements; a missing set goes to `errors`. */
  setGet(ptr: Uint8Array): SetResult;
  /** Exact element membership. */
  setContains(ptr: Uint8Array, element: Bytes): boolean;
  /** Number of elements (the existence marker is not counted). Throws ENTITY_NOT_FOUND. */
  setCount(ptr: Uint8Array): number;
  /** Elements in a byte range, for time ranges and paging. */
  setRange(ptr: Uint8Array, options?: RangeOptions): Buffer[];
  /**
   * Every `main` entry with `from ≤ key < to` (keys are `ptr ‖ name`), in key order, as
   * ONE lazy cursor walk: the members of consecutive objects without a lookup per
   * object. A yielded entry's buffers may be reused by the next step of the walk: copy
   * what you keep. The walk must be consumed inside the transaction's callback.
   */
  mainRange(from: Uint8Array, to?: Uint8Array): Iterable<MainEntry>;
  /**
   * The next batch of a `readings` set's elements in `[from, to)` (null: unbounded) and
   * the members `out.members` of each reading, as columns in `out` (src/core/reading-columns.ts):
   * one addon call per batch with the native codec, the same output in TypeScript otherwise.
   */
  readingColumns(set: Uint8Array, from: Uint8Array | null, to: Uint8Array | null, out: ReadingColumns): void;
  /**
   * The first batch of {@link readingColumns} for the set that member `member` of object
   * `owner` points to, the pointer read in the same call (in the addon with the native
   * codec: no lmdb-js get) and left in `out.set` for the next batches. No such owner:
   * no rows (`out.done`); the member absent or not a set pointer: STORE_CORRUPT.
   */
  ownedReadingColumns(owner: Uint8Array, member: Bytes, from: Uint8Array | null, to: Uint8Array | null, out: ReadingColumns): void;
  /**
   * count/sum/min/max over the `readings` range `[from, to)` of the set that member
   * `member` of object `owner` points to, in one addon call per device (the pointer is
   * read inside the call), or null when the addon cannot read this transaction
   * (portable codec, write transaction). Status `answer[0]`: 0 done, 1 fall back to the
   * row scan, 2 `owner` does not exist, 3 the member is absent or not a set pointer.
   */
  readingAggregates(owner: Uint8Array, member: Bytes, from: Uint8Array | null, to: Uint8Array | null, req: AggregateRequest): Float64Array | null;
  /** True when {@link readingColumns} runs in the addon in this transaction. */
  readonly nativeScan: boolean;
  /** Ghost members under `ptr`, or in the whole instance when omitted. */
  audit(ptr?: Uint8Array): GhostMember[];
  /** Rebuilds the nested value stored by {@link WriteTxn.docPut}. */
  docGet(ptr: Uint8Array): unknown;
}

/** Operations of a write transaction. Every write in a read transaction throws READONLY_TXN. */
export interface WriteTxn extends ReadTxn {
  objCreate(): Buffer;
  /** Creates the object at the caller's pointer if absent (e.g. a fixed root); no-op if present. */
  objRegister(ptr: Uint8Array): void;
  /** A fresh object pointer in the store's partition; nothing is written (see {@link WriteTxn.objCreateWith}). */
  objPointer(): Buffer;
  /**
   * Creates the object at `ptr` (if absent) with these members in one call: every name
   * is validated before anything is written, then the names are registered and the
   * values put in key order (full B+tree pages). Same bytes as `objRegister` and one
   * `memberPut` per member.
   */
  objCreateWith(ptr: Uint8Array, names: readonly Bytes[], values: readonly Bytes[]): void;
  /** Registers the name (no-dup) then puts the value. */
  memberPut(ptr: Uint8Array, name: Bytes, value: Bytes): void;
  /** Registers the name without a value (legal "missing value" state). */
  memberRegister(ptr: Uint8Array, name: Bytes): void;
  /** Deletes the value, keeps the registration. */
  memberValueDel(ptr: Uint8Array, name: Bytes): void;
  /** Deletes value then name; puts the existence marker back when it was the last. */
  memberDel(ptr: Uint8Array, name: Bytes): void;
  /** Deletes all values, then the `set` key. */
  objDel(ptr: Uint8Array): void;
  setCreate(): Buffer;
  /** Creates the set at the caller's pointer if absent; no-op if present. */
  setRegister(ptr: Uint8Array): void;
  /** Adds an element; an existing one throws MEMBER_EXISTS. */
  setAdd(ptr: Uint8Array, element: Bytes): void;
  /** Adds an element if absent; returns whether it was added (idempotent apply). */
  setPut(ptr: Uint8Array, element: Bytes): boolean;
  /** Removes an element; puts the existence marker back when it was the last. */
  setRemove(ptr: Uint8Array, element: Bytes): void;
  setDel(ptr: Uint8Array): void;
  /** Deletes the given ghost members (default: all found by audit); returns how many. */
  repair(ghosts?: GhostMember[]): number;
  /** Stores a nested JSON-like value as linked objects/sets; returns the root pointer. */
  docPut(value: unknown): Buffer;
  /** Runs `fn` in a nested child transaction: a throw aborts the child only. */
  child<T>(fn: (txn: WriteTxn) => T): T;
}

/** One LMJCore instance: an LMDB environment with the `main` and `set` databases. */
export interface LmjStore {
  readonly path: string;
  readonly durability: Durability;
  read<T>(fn: (txn: ReadTxn) => T): T;
  /** Synchronous write transaction: committed (durable in `safe`) when it returns. */
  write<T>(fn: (txn: WriteTxn) => T): T;
  /**
   * Queued write transaction, grouped with other queued writes into one commit;
   * resolves after that commit is durable (per the durability mode). A throw in
   * `fn` rejects this promise only; other grouped writes are unaffected.
   */
  writeAsync<T>(fn: (txn: WriteTxn) => T): Promise<T>;
  stat(): StoreStat;
  close(): Promise<void>;
}
