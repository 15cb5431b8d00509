/**
 * {@link LmjStore} over lmdb-js: read/write/writeAsync transactions, map growth,
 * durability modes, stat and close.
 *
 * `write` runs as a synchronous lmdb-js transaction on this thread. `writeAsync` is
 * grouped and commits off the main thread ({@link GroupCommitter}); growth closes and
 * reopens the environment between transactions ({@link MapGrowth}).
 */
import { join } from 'node:path';
import { getCodec } from '../codec/index.js';
import { LmjError } from '../errors.js';
import { EngineContext } from './engine-context.js';
import { FastFlusher } from './fast-flush.js';
import { GroupCommitter } from './group-commit.js';
import { MDB_MAP_FULL, isMapFull, wrapError } from './lmdb-errors.js';
import { DEFAULT_MAP_SIZE, closeHandles, openHandles } from './lmdb-env.js';
import { MAX_GROWTHS, MapGrowth } from './map-growth.js';
import { Txn, assertSync } from './txn.js';
import type { Durability, LmjStore, OpenOptions, ReadTxn, StoreStat, WriteTxn } from './types.js';

export { MAX_GROUP } from './group-commit.js';
export { MAX_MAP_SIZE } from './map-growth.js';

/** How often `fast` mode flushes to disk (bounds what a power cut can lose). */
export const DEFAULT_FAST_FLUSH_MS = 1000;

class Store implements LmjStore {
  readonly path: string;
  readonly durability: Durability;
  private readonly ctx: EngineContext;
  private readonly readOnly: boolean;
  private closing: Promise<void> | undefined;
  /** `fast` mode only: periodic fdatasync of data.mdb after commits. */
  private readonly flusher: FastFlusher | undefined;
  /** True while a write transaction runs: growth (close/reopen) must wait for the outermost. */
  private writing = false;
  private readonly growth: MapGrowth;
  private readonly groups: GroupCommitter;

  constructor(path: string, options: OpenOptions) {
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
    const every = options.flushIntervalMs ?? DEFAULT_FAST_FLUSH_MS;
    if (!Number.isFinite(every) || every <= 0) {
      throw new LmjError('INVALID_PARAM', 'flushIntervalMs must be a positive number', { details: { flushIntervalMs: every } });
    }
    // Everything that can throw runs before the environment is opened, so nothing leaks.
    const codec = options.codec ?? getCodec();
    this.ctx = new EngineContext(codec, partition, openHandles(path, this.durability, mapSize, this.readOnly));
    this.flusher = this.durability === 'fast' && !this.readOnly ? new FastFlusher(join(path, 'data.mdb'), every) : undefined;
    this.growth = new MapGrowth(this.ctx, path, this.durability, this.readOnly);
    this.groups = new GroupCommitter(this.ctx, this.growth, {
      committed: () => this.flusher?.markDirty(),
      setWriting: (writing) => (this.writing = writing),
    });
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
    return this.groups.enqueue(fn);
  }

  /** Runs a sync write; on a full map reopens the environment twice as big and runs it again. */
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
        const next = this.growth.nextSize();
        if (!isMapFull(error) || attempt >= MAX_GROWTHS || next === 0) throw wrapError(error);
        if (this.groups.asyncUsed) {
          // Only the group drain can reopen safely now (it awaits the close): let it
          // grow, report this write.
          this.groups.requestGrowth(next);
          throw new LmjError('STORE_IO', 'MDB_MAP_FULL: the map is growing, retry the write', {
            cause: error,
            details: { lmdb: MDB_MAP_FULL, mapSize: next },
          });
        }
        this.growth.growNow(next);
      }
    }
  }

  private growAheadIfNeeded(): void {
    const target = this.growth.aheadTarget();
    if (target === 0) return;
    if (this.groups.asyncUsed) this.groups.requestGrowth(target);
    else this.growth.growNow(target);
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
      await this.groups.idle();
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
export function openStore(path: string, options: OpenOptions = {}): LmjStore {
  return new Store(path, options);
}
