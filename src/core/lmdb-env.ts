/**
 * The lmdb-js layer: opens one LMJCore instance (an LMDB environment directory with
 * the named databases `main` and `set`) exactly as docs/storage.md (On-disk format) requires, and reopens
 * it with a larger map when it fills up.
 *
 * Why the care: lmdb-js defaults change bytes or formats on disk (msgpack values,
 * ordered-binary keys, and — in its prebuilt binaries — LMDB data format v2 that
 * liblmdb's `mdb_dump` cannot read). We use raw binary keys and values, no
 * compression/versions/cache, overlappingSync off (it adds a third meta page), and
 * require the lmdb-js native module built against LMDB 0.9.x data format v1
 * (`npm run build:lmdb`, run by `postinstall`).
 */
import { mkdirSync } from 'node:fs';
import { basename, extname } from 'node:path';
import * as lmdb from 'lmdb';
import { LmjError } from '../errors.js';
import type { Durability } from './types.js';

/** The subset of an lmdb-js database we use, typed for raw Buffer keys/values. */
export interface LmdbDb {
  getBinary(key: Uint8Array): Buffer | undefined;
  getBinaryFast(key: Uint8Array): Buffer | undefined;
  getValues(key: Uint8Array, options?: Record<string, unknown>): Iterable<Buffer>;
  getValuesCount(key: Uint8Array, options?: Record<string, unknown>): number;
  getRange(options: Record<string, unknown>): Iterable<{ key: Buffer; value: Buffer }> & Iterable<unknown>;
  getKeys(options: Record<string, unknown>): Iterable<Buffer>;
  doesExist(key: Uint8Array, value?: Uint8Array): boolean;
  putSync(key: Uint8Array, value: Uint8Array, options?: Record<string, unknown>): boolean;
  removeSync(key: Uint8Array, value?: Uint8Array): boolean;
  getStats(): { entryCount: number; mapSize: number; lastPageNumber: number; pageSize: number };
  transactionSync<T>(fn: () => T): T;
  childTransaction<T>(fn: () => T): T;
  /** lmdb-js async transaction: `fn` runs on this thread, the commit on lmdb-js's writer (threadpool). */
  transaction<T>(fn: () => T): Promise<T>;
  /** Moves lmdb-js's shared read snapshot to the latest commit. */
  resetReadTxn(): void;
  sync(callback: (error?: unknown) => void): void;
  close(): Promise<void>;
  encoder?: unknown;
}

/** An open environment: the root handle and the two named databases. */
export interface LmdbHandles {
  root: LmdbDb;
  main: LmdbDb;
  set: LmdbDb;
  mapSize: number;
  pageSize: number;
  /** The environment directory (as opened). */
  path: string;
}

/** Raw-byte key writer so lmdb-js accepts Buffer bounds in dupsort value ranges. */
function writeRawKey(key: Uint8Array, target: Uint8Array, start: number): number {
  target.set(key, start);
  return start + key.length;
}

/**
 * lmdb-js only honours `start`/`end` of a dupsort value range (and exact `doesExist`)
 * when the store has an encoder with `writeKey`; with `encoding: 'binary'` it has none
 * and crashes. An identity encoder fixes that without changing any byte on disk.
 */
const RAW_ENCODER = Object.freeze({ writeKey: writeRawKey, encode: (value: Uint8Array) => value });

const lmdbOpen = lmdb.open;
// `version` is exported by lmdb-js at runtime but missing from its type declarations.
const lmdbVersion = (lmdb as unknown as { version: { major: number; minor: number; patch: number; versionString?: string } })
  .version;

/**
 * lmdb-js's registry of every store it ever opened, keyed by the environment's base name
 * (and `-<db>` for a named database); exported at runtime, not in its type declarations.
 * It never forgets a closed store, so each distinct instance directory ever opened kept
 * its three stores and their buffers (~80 KiB: bench/instance-churn.ts) until exit.
 */
const lmdbAllDbs = (lmdb as unknown as { allDbs?: Map<string, unknown> }).allDbs;

/** Drops the closed handles' entries from lmdb-js's registry (only ours: another env may share the base name). */
function forgetStores(h: LmdbHandles): void {
  if (lmdbAllDbs === undefined) return;
  const name = basename(h.path, extname(h.path));
  for (const [key, store] of [[name, h.root], [`${name}-main`, h.main], [`${name}-set`, h.set]] as const) {
    if (lmdbAllDbs.get(key) === store) lmdbAllDbs.delete(key);
  }
}

/** Default initial map size: 64 MiB of address space; grows by doubling on demand. */
export const DEFAULT_MAP_SIZE = 64 * 1024 * 1024;

/** True when the loaded lmdb-js native module writes LMDB data format v1 (liblmdb 0.9.x). */
export function lmdbWritesFormatV1(): boolean {
  const v = lmdbVersion;
  return v.major === 0 && v.minor === 9 && v.patch < 90;
}

/** Opens (creating unless read-only) the environment and both databases. */
export function openHandles(path: string, durability: Durability, mapSize: number, readOnly: boolean): LmdbHandles {
  if (!lmdbWritesFormatV1()) {
    const v = lmdbVersion;
    throw new LmjError(
      'STORE_OPEN_FAILED',
      `lmdb native module is ${v.versionString ?? 'unknown'} (LMDB data format v2, unreadable by mdb_dump); ` +
        'rebuild it with `npm run build:lmdb`',
      { details: { path } },
    );
  }
  try {
    if (!readOnly) mkdirSync(path, { recursive: true });
    const root = lmdbOpen(path, {
      // lmdb-js derives these from the path's extension and the environment
      // (`sensor.2` would be opened as a data *file*, LMDB_RESTORE=safe changes
      // recovery); an instance is always a directory and always opened the same way.
      noSubdir: false,
      safeRestore: false,
      remapChunks: false,
      maxDbs: 4,
      mapSize,
      overlappingSync: false,
      // The engine groups writes itself (one explicit async transaction per group). lmdb-js's
      // own event-turn batch adds a promise nobody holds, rejected unhandled when a commit fails.
      eventTurnBatching: false,
      noSync: durability === 'fast',
      readOnly,
      encoding: 'binary',
      keyEncoding: 'binary',
      compression: false,
      cache: false,
      useVersions: false,
    } as never) as unknown as LmdbDb;
    try {
      const dbOpts = { keyEncoding: 'binary', encoding: 'binary', compression: false, cache: false, useVersions: false };
      const rootAny = root as unknown as { openDB(name: string, o: object): LmdbDb | undefined };
      const main = rootAny.openDB('main', { ...dbOpts, create: !readOnly });
      const set = rootAny.openDB('set', { ...dbOpts, dupSort: true, create: !readOnly });
      if (main === undefined || set === undefined) {
        throw new LmjError('STORE_OPEN_FAILED', `not an LMJCore instance (missing main/set databases): ${path}`, {
          details: { path },
        });
      }
      set.encoder = RAW_ENCODER;
      const stats = root.getStats();
      return { root, main, set, mapSize: stats.mapSize > 0 ? stats.mapSize : mapSize, pageSize: stats.pageSize, path };
    } catch (error) {
      // Never leave a half-opened environment behind (descriptors, map, locks, lmdb-js's registry).
      if (lmdbAllDbs?.get(basename(path, extname(path))) === root) lmdbAllDbs.delete(basename(path, extname(path)));
      void root.close();
      throw error;
    }
  } catch (error) {
    if (error instanceof LmjError) throw error;
    throw new LmjError('STORE_OPEN_FAILED', `cannot open LMJCore instance at ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  }
}

/**
 * Closes the environment. Immediate when no lmdb-js async write ever ran on it; after
 * async writes lmdb-js closes a few promise turns later, so await it before reopening.
 */
export function closeHandles(h: LmdbHandles): Promise<void> {
  forgetStores(h);
  return h.root.close();
}
