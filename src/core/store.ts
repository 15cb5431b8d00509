/**
 * {@link LmjStore} over lmdb-js: read/write/writeAsync transactions, map growth,
 * durability modes, stat and close.
 *
 * `write` runs as a synchronous lmdb-js transaction on this thread. The grouped
 * `writeAsync` (commitMode `async`, the default) runs as an lmdb-js async transaction:
 * the callbacks still run on this thread, inside the write transaction lmdb-js's writer
 * holds, but the commit and its fsyncs run in napi async work on the libuv threadpool,
 * so many stores commit in parallel. Each group runs inside one child transaction (so a
 * full map aborts the whole group, which then runs again bigger) and, when there are
 * several callbacks, each in its own grandchild (so a throwing callback is rolled back
 * alone). One group is in flight per store, so the environment can be closed and
 * reopened with a bigger map between groups (liblmdb 0.9 cannot grow a map in use, and
 * lmdb-js exposes no resize). commitMode `sync` keeps the old all-synchronous path.
 */
import { join } from 'node:path';
import { getCodec } from '../codec/index.js';
import { LmjError } from '../errors.js';
import type { EngineContext as Ctx } from './engine-context.js';
import { EngineContext } from './engine-context.js';
import { FastFlusher } from './fast-flush.js';
import { MDB_MAP_FULL, isMapFull, wrapError } from './lmdb-errors.js';
import { DEFAULT_MAP_SIZE, type LmdbHandles, closeHandles, openHandles } from './lmdb-env.js';
import { Txn, assertSync } from './txn.js';
import type { Durability, LmjStore, OpenOptions, ReadTxn, StoreStat, WriteTxn } from './types.js';

/** How often `fast` mode flushes to disk (bounds what a power cut can lose). */
export const DEFAULT_FAST_FLUSH_MS = 1000;
/** The most callbacks one grouped commit takes; the rest go to the next commit. */
export const MAX_GROUP = 1000;
/** Map growth attempts for one transaction before MAP_FULL is reported. */
const MAX_GROWTHS = 16;
/** The map never grows beyond this (1 TiB of address space). */
export const MAX_MAP_SIZE = 2 ** 40;
/** Grow ahead of need once a commit leaves the map this full. */
const GROW_AHEAD_RATIO = 0.75;


interface Queued {
  fn: (txn: WriteTxn) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * How `writeAsync` commits: `async` (default) commits and fsyncs on the libuv threadpool
 * through lmdb-js's writer; `sync` commits on the calling thread (the pre-2026-11 path).
 */
export type CommitMode = 'sync' | 'async';

/** Open options: the engine contract's plus the commit mode. */
export interface EngineOpenOptions extends OpenOptions {
  commitMode?: CommitMode;
}

/** Thrown inside a group when the map is full: aborts the group's child transaction. */
const GROUP_MAP_FULL = Symbol('map full');

/** Resolves or rejects each queued callback with its own outcome. */
function settle(group: readonly Queued[], outcomes: readonly Outcome[]): void {
  for (let i = 0; i < group.length; i++) {
    const o = outcomes[i]!;
    if (o.ok) group[i]!.resolve(o.value);
    else group[i]!.reject(o.error);
  }
}

class Store implements LmjStore {
  readonly path: string;
  readonly durability: Durability;
  private readonly ctx: Ctx;
  private readonly readOnly: boolean;
  private queue: Queued[] = [];
  private scheduled = false;
  private closing: Promise<void> | undefined;
  /** `fast` mode only: periodic fdatasync of data.mdb after commits. */
  private readonly flusher: FastFlusher | undefined;
  /** True while a write transaction runs: growth (close/reopen) must wait for the outermost. */
  private writing = false;
  readonly commitMode: CommitMode;
  /** The group commit in flight (async mode): growth and close wait for it. */
  private inFlight: Promise<void> | undefined;
  /**
   * Set once an lmdb-js async write ran: lmdb-js then closes the env only after a few
   * promise turns, and reopening the path before that breaks the next async write
   * (EINVAL, measured), so growth must await the close — only the async drain can.
   */
  private asyncUsed = false;
  /** A sync write found the map (nearly) full after async writes: the drain grows first. */
  private growTo = 0;

  constructor(path: string, options: EngineOpenOptions) {
    if (typeof path !== 'string' || path.length === 0) throw new LmjError('INVALID_PARAM', 'store path must be a non-empty string');
    this.path = path;
    this.durability = options.durability ?? 'safe';
    if (this.durability !== 'safe' && this.durability !== 'fast') {
      throw new LmjError('BAD_CONFIG', `durability must be safe or fast, got ${String(this.durability)}`);
    }
    const partition = options.partition ?? 0;
    if (!Number.isInteger(partition) || partition < 0 || partition > 0xffff) {
      throw new LmjError('INVALID_PARAM', 'partition must be an integer 0..65535', { details: { partition } });
    }
    const mapSize = options.mapSize ?? DEFAULT_MAP_SIZE;
    if (!Number.isSafeInteger(mapSize) || mapSize < 64 * 1024) {
      throw new LmjError('INVALID_PARAM', 'mapSize must be an integer of at least 64 KiB', { details: { mapSize } });
    }
    this.readOnly = options.readOnly === true;
    // LMJ_COMMIT_MODE lets an operator (or a before/after bench) pick the path without code changes.
    this.commitMode = options.commitMode ?? ((process.env['LMJ_COMMIT_MODE'] as CommitMode | undefined) || 'async');
    if (this.commitMode !== 'sync' && this.commitMode !== 'async') {
      throw new LmjError('BAD_CONFIG', `commitMode must be sync or async, got ${String(this.commitMode)}`);
    }
    const every = options.flushIntervalMs ?? DEFAULT_FAST_FLUSH_MS;
    if (!Number.isFinite(every) || every <= 0) {
      throw new LmjError('INVALID_PARAM', 'flushIntervalMs must be a positive number', { details: { flushIntervalMs: every } });
    }
    // Everything that can throw runs before the environment is opened, so nothing leaks.
    const codec = options.codec ?? getCodec();
    this.ctx = new EngineContext(codec, partition, openHandles(path, this.durability, mapSize, this.readOnly));
    this.flusher = this.durability === 'fast' && !this.readOnly ? new FastFlusher(join(path, 'data.mdb'), every) : undefined;
  }

  read<T>(fn: (txn: ReadTxn) => T): T {
    const txn = new Txn(this.ctx, false);
    try {
      void this.ctx.h; // throws STORE_CLOSED after close
      const result = fn(txn);
      assertSync(result);
      return result;
    } catch (error) {
      throw wrapError(error);
    } finally {
      txn.finished = true;
    }
  }

  write<T>(fn: (txn: WriteTxn) => T): T {
    if (this.readOnly) throw new LmjError('READONLY_TXN', 'store opened read-only');
    if (this.closing !== undefined) throw new LmjError('STORE_CLOSED');
    if (this.writing) {
      throw new LmjError('INVALID_PARAM', 'store.write called inside a write transaction; use txn.child() to nest');
    }
    return this.withGrowth(() => {
      const txn = new Txn(this.ctx, true);
      try {
        const committed = this.ctx.h.main.transactionSync(() => {
          const result = fn(txn);
          assertSync(result);
          return result;
        });
        this.flusher?.markDirty();
        return committed;
      } finally {
        txn.finished = true;
      }
    });
  }

  writeAsync<T>(fn: (txn: WriteTxn) => T): Promise<T> {
    if (this.readOnly) return Promise.reject(new LmjError('READONLY_TXN', 'store opened read-only'));
    if (this.closing !== undefined || !this.ctx.isOpen) return Promise.reject(new LmjError('STORE_CLOSED'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate lets every writeAsync of this event-loop turn join one commit.
        if (this.commitMode === 'sync') setImmediate(() => this.drain());
        else setImmediate(() => void this.drainAsync());
      }
    });
  }

  /** Commits queued callbacks in groups until the queue is empty. */
  private drain(): void {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      let outcomes: Outcome[];
      try {
        outcomes = this.withGrowth(() => this.commitGroup(group));
        this.flusher?.markDirty();
      } catch (error) {
        const wrapped = wrapError(error);
        for (const q of group) q.reject(wrapped);
        continue;
      }
      settle(group, outcomes);
    }
    this.scheduled = false;
  }

  /**
   * Async mode: commits queued callbacks group after group, one group in flight, until
   * the queue is empty. Growth happens between groups, never under an lmdb-js write.
   */
  private async drainAsync(): Promise<void> {
    let done!: () => void;
    this.inFlight = new Promise<void>((r) => (done = r));
    try {
      while (this.queue.length > 0 || this.growTo > 0) {
        if (this.growTo > 0) {
          const size = this.growTo;
          this.growTo = 0;
          if (size > this.ctx.h.mapSize) {
            try {
              await this.growAsync(size);
            } catch {
              // Keep going at the old size; a write that needs the space reports MAP_FULL.
            }
          }
          continue;
        }
        const group = this.queue.splice(0, MAX_GROUP);
        let outcomes: Outcome[];
        try {
          outcomes = await this.commitGroupAsync(group);
          this.flusher?.markDirty();
        } catch (error) {
          const wrapped = wrapError(error);
          for (const q of group) q.reject(wrapped);
          continue;
        }
        settle(group, outcomes);
      }
    } finally {
      this.scheduled = false;
      this.inFlight = undefined;
      done();
    }
  }

  /** One lmdb-js async transaction for a group; on a full map grows and runs it again. */
  private async commitGroupAsync(group: Queued[]): Promise<Outcome[]> {
    for (let attempt = 0; ; attempt++) {
      const h = this.ctx.h;
      this.asyncUsed = true;
      try {
        // Resolves after mdb_txn_commit returned on the writer thread; without
        // MDB_OVERLAPPINGSYNC (our data-v1 build) that commit includes both fsyncs.
        const outcomes = (await h.main.transaction(() => this.runGroupInChild(group))) as Outcome[];
        // lmdb-js renews its shared read snapshot only on a later turn after an async
        // commit; callers read right after the promise resolves and must see their write.
        if (this.ctx.isOpen && this.ctx.h === h) h.root.resetReadTxn();
        await this.growAheadAsync();
        return outcomes;
      } catch (error) {
        const next = this.ctx.h.mapSize * 2;
        if (!isMapFull(error) || attempt >= MAX_GROWTHS || next > MAX_MAP_SIZE) throw wrapError(error);
        await this.growAsync(next);
      }
    }
  }

  /** Runs inside lmdb-js's async write transaction: the group in one child transaction. */
  private runGroupInChild(group: Queued[]): Outcome[] {
    const main = this.ctx.h.main;
    this.writing = true;
    try {
      return main.childTransaction(() => {
        const outcomes = this.runGroup(group);
        // A full map poisons what the group wrote: abort it all, grow, run it again.
        if (outcomes === GROUP_MAP_FULL) throw new LmjError('STORE_IO', 'MDB_MAP_FULL', { details: { lmdb: MDB_MAP_FULL } });
        return outcomes;
      }) as Outcome[];
    } finally {
      this.writing = false;
    }
  }

  /** The callbacks of a group in the current write transaction (async mode). */
  private runGroup(group: Queued[]): Outcome[] | typeof GROUP_MAP_FULL {
    const main = this.ctx.h.main;
    const outcomes: Outcome[] = [];
    for (const q of group) {
      const txn = new Txn(this.ctx, true);
      try {
        const value =
          group.length === 1
            ? q.fn(txn)
            : main.childTransaction(() => {
                const r = q.fn(txn);
                assertSync(r);
                return r;
              });
        assertSync(value);
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (isMapFull(error)) return GROUP_MAP_FULL;
        // A lone callback that threw: the group's child (all it wrote) must not commit.
        if (group.length === 1) throw error;
        outcomes.push({ ok: false, error: wrapError(error) });
      } finally {
        txn.finished = true;
      }
    }
    return outcomes;
  }

  private async growAheadAsync(): Promise<void> {
    const target = this.growAheadTarget();
    if (target > 0) await this.growAsync(target);
  }

  /** Growth after async writes: awaits lmdb-js's deferred close before reopening. */
  private async growAsync(newSize: number): Promise<void> {
    const old = this.ctx.h;
    const closed = closeHandles(old);
    this.ctx.replace(undefined);
    await closed;
    this.reopen(old.mapSize, newSize);
  }

  /** One write transaction for a group; each callback in its own child when there are several. */
  private commitGroup(group: Queued[]): Outcome[] {
    const h = this.ctx.h;
    return h.main.transactionSync(() => {
      if (group.length === 1) {
        // A lone callback needs no child: its throw aborts the whole (one-callback) transaction.
        const txn = new Txn(this.ctx, true);
        try {
          const value = group[0]!.fn(txn);
          assertSync(value);
          return [{ ok: true, value }];
        } finally {
          txn.finished = true;
        }
      }
      const outcomes: Outcome[] = [];
      for (const q of group) {
        const txn = new Txn(this.ctx, true);
        try {
          const value = h.main.childTransaction(() => {
            const r = q.fn(txn);
            assertSync(r);
            return r;
          });
          outcomes.push({ ok: true, value });
        } catch (error) {
          // A full map poisons the parent too: abort the group and retry it bigger.
          if (isMapFull(error)) throw error;
          outcomes.push({ ok: false, error: wrapError(error) });
        } finally {
          txn.finished = true;
        }
      }
      return outcomes;
    });
  }

  /** Runs a write; on a full map reopens the environment twice as big and runs it again. */
  private withGrowth<T>(run: () => T): T {
    for (let attempt = 0; ; attempt++) {
      this.writing = true;
      try {
        const result = run();
        this.writing = false;
        this.growAheadIfNeeded();
        return result;
      } catch (error) {
        this.writing = false;
        const next = this.ctx.h.mapSize * 2;
        if (!isMapFull(error) || attempt >= MAX_GROWTHS || next > MAX_MAP_SIZE) throw wrapError(error);
        if (this.asyncUsed) {
          // Only the async drain can reopen safely now: let it grow, report this write.
          this.requestAsyncGrowth(next);
          throw new LmjError('STORE_IO', 'MDB_MAP_FULL: the map is growing, retry the write', {
            cause: error,
            details: { lmdb: MDB_MAP_FULL, mapSize: next },
          });
        }
        this.grow(next);
      }
    }
  }

  private envInfo(h: LmdbHandles): { mapSize: number; lastPageNumber: number; pageSize: number } {
    const env = (h.root as unknown as { env: { info(): { mapSize: number; lastPageNumber: number } } }).env;
    const info = env.info();
    return { mapSize: info.mapSize, lastPageNumber: info.lastPageNumber, pageSize: h.pageSize };
  }

  /** The size to grow to when the map is fuller than GROW_AHEAD_RATIO, else 0. */
  private growAheadTarget(): number {
    const info = this.envInfo(this.ctx.h);
    const used = (info.lastPageNumber + 1) * info.pageSize;
    if (used > info.mapSize * GROW_AHEAD_RATIO && info.mapSize * 2 <= MAX_MAP_SIZE) {
      return Math.max(info.mapSize * 2, used * 2);
    }
    return 0;
  }

  private growAheadIfNeeded(): void {
    const target = this.growAheadTarget();
    if (target === 0) return;
    if (this.asyncUsed) this.requestAsyncGrowth(target);
    else this.grow(target);
  }

  /** Asks the async drain to grow the map before its next group. */
  private requestAsyncGrowth(size: number): void {
    this.growTo = Math.max(this.growTo, size);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drainAsync());
    }
  }

  private grow(newSize: number): void {
    const old = this.ctx.h;
    // Closing is synchronous here: no lmdb-js async write ever ran on this env (asyncUsed).
    void closeHandles(old);
    this.ctx.replace(undefined);
    this.reopen(old.mapSize, newSize);
  }

  private reopen(oldSize: number, newSize: number): void {
    try {
      this.ctx.replace(openHandles(this.path, this.durability, newSize, this.readOnly));
    } catch (error) {
      // Keep the store usable at its old size; the write that needed more space fails.
      this.ctx.replace(openHandles(this.path, this.durability, oldSize, this.readOnly));
      throw new LmjError('STORE_IO', `cannot grow the map to ${newSize} bytes`, { cause: error, details: { mapSize: newSize } });
    }
  }

  stat(): StoreStat {
    const h = this.ctx.h;
    const s = h.root.getStats();
    return {
      path: this.path,
      mapSize: s.mapSize,
      usedBytes: (s.lastPageNumber + 1) * s.pageSize,
      mainEntries: h.main.getStats().entryCount,
      setEntries: h.set.getStats().entryCount,
      durability: this.durability,
    };
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = (async () => {
      // Let queued writes commit first: they were accepted before close.
      while (this.scheduled || this.queue.length > 0 || this.inFlight !== undefined) {
        if (this.inFlight !== undefined) await this.inFlight;
        else await new Promise((r) => setImmediate(r));
      }
      if (this.ctx.isOpen) {
        const h = this.ctx.h;
        this.ctx.replace(undefined);
        await closeHandles(h);
      }
      await this.flusher?.close();
    })();
    return this.closing;
  }
}

/**
 * Opens (creating if needed) the LMJCore instance in directory `path`.
 * Throws STORE_OPEN_FAILED with the cause when lmdb cannot open it.
 */
export function openStore(path: string, options: EngineOpenOptions = {}): LmjStore {
  return new Store(path, options);
}
