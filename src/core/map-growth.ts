/**
 * Map growth of one store: liblmdb 0.9 cannot resize a map that is in use and lmdb-js
 * exposes no resize, so growing means closing the environment and reopening it with a
 * bigger map, between transactions. After an lmdb-js async write the close completes a
 * few promise turns later and reopening before that breaks the next async write (EINVAL,
 * measured), so that case must await the close.
 */
import { LmjError } from '../errors.js';
import type { EngineContext } from './engine-context.js';
import { type LmdbHandles, closeHandles, openHandles } from './lmdb-env.js';
import type { Durability } from './types.js';

/** The map never grows beyond this (1 TiB of address space). */
export const MAX_MAP_SIZE = 2 ** 40;
/** Map growth attempts for one transaction before MAP_FULL is reported. */
export const MAX_GROWTHS = 16;
/** Grow ahead of need once a commit leaves the map this full. */
const GROW_AHEAD_RATIO = 0.75;

/** Reopens a store's environment with a bigger map. */
export class MapGrowth {
  constructor(
    private readonly ctx: EngineContext,
    private readonly path: string,
    private readonly durability: Durability,
    private readonly readOnly: boolean,
  ) {}

  /** The size a full map grows to next, or 0 when it may not grow any more. */
  nextSize(): number {
    const next = this.ctx.h.mapSize * 2;
    return next > MAX_MAP_SIZE ? 0 : next;
  }

  /** The size to grow to when the map is fuller than GROW_AHEAD_RATIO, else 0. */
  aheadTarget(): number {
    const h = this.ctx.h;
    const info = envInfo(h);
    const used = (info.lastPageNumber + 1) * h.pageSize;
    if (used > info.mapSize * GROW_AHEAD_RATIO && info.mapSize * 2 <= MAX_MAP_SIZE) {
      return Math.max(info.mapSize * 2, used * 2);
    }
    return 0;
  }

  /** Growth when no lmdb-js async write ever ran on the environment: its close is immediate. */
  growNow(newSize: number): void {
    const old = this.ctx.h;
    void closeHandles(old);
    this.ctx.replace(undefined);
    this.reopen(old.mapSize, newSize);
  }

  /** Growth after async writes: awaits lmdb-js's deferred close before reopening. */
  async growAfterClose(newSize: number): Promise<void> {
    const old = this.ctx.h;
    const closed = closeHandles(old);
    this.ctx.replace(undefined);
    await closed;
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
}

function envInfo(h: LmdbHandles): { mapSize: number; lastPageNumber: number } {
  const env = (h.root as unknown as { env: { info(): { mapSize: number; lastPageNumber: number } } }).env;
  return env.info();
}
