/**
 * The record-by-record copy behind compaction: every `main` entry and every `set`
 * duplicate (existence markers by exact lookup, as lmdb-js iterates past them) in key
 * order, a few thousand puts per write transaction. It runs in a worker thread
 * (./compact-thread.ts), off the event loop that serves the other devices.
 *
 * Why not `mdb_env_copy2(MDB_CP_COMPACT)` (lmdb-js `env.backup(path, true)`, which does
 * exist in our data-format-v1 build and writes a copy mdb_dump reads): it copies each
 * database's header counts as they are, and LMDB 0.9.29 leaves one count per deleted
 * object in `set`'s header (the existence marker that real names replaced is still
 * counted, docs/storage.md), so after retention deleted readings the copy's header
 * disagrees with its contents and `verifyInstance` reports it corrupt. Rewriting the
 * entries gives a header that matches what is stored.
 */
import { MARKER } from './bytes.js';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles, type LmdbDb } from './lmdb-env.js';

/** Puts per write transaction of the copy. */
export const COPY_CHUNK = 4000;

/** The smallest key after `key`. */
const after = (key: Buffer): Buffer => Buffer.concat([key, Buffer.alloc(1)]);

function copyMain(from: LmdbDb, to: LmdbDb, root: LmdbDb): number {
  let start: Buffer | undefined;
  let n = 0;
  for (;;) {
    let last: Buffer | undefined;
    root.transactionSync(() => {
      for (const { key, value } of from.getRange({ ...(start === undefined ? {} : { start }), limit: COPY_CHUNK })) {
        to.putSync(key, value);
        last = Buffer.from(key);
        n++;
      }
    });
    if (last === undefined) return n;
    start = after(last);
  }
}

function copySet(from: LmdbDb, to: LmdbDb, root: LmdbDb): number {
  let start: Buffer | undefined;
  let n = 0;
  for (;;) {
    let last: Buffer | undefined;
    let puts = 0;
    root.transactionSync(() => {
      for (const k of from.getKeys({ ...(start === undefined ? {} : { start }) })) {
        const key = Buffer.from(k);
        if (from.doesExist(key, MARKER)) to.putSync(key, MARKER);
        for (const value of from.getValues(key)) {
          if (value.length === 0) continue;
          to.putSync(key, value);
          puts++;
        }
        last = key;
        n++;
        if (++puts >= COPY_CHUNK) break;
      }
    });
    if (last === undefined) return n;
    start = after(last);
  }
}

/** Copies the closed instance at `source` into a new environment directory `dest` (must exist, empty). */
export async function copyInstance(source: string, dest: string): Promise<{ main: number; setKeys: number }> {
  const src = openHandles(source, 'fast', DEFAULT_MAP_SIZE, true);
  try {
    // `fast`: the caller fsyncs the finished file once.
    const dst = openHandles(dest, 'fast', Math.max(src.mapSize, DEFAULT_MAP_SIZE), false);
    try {
      const main = copyMain(src.main, dst.main, dst.root);
      const setKeys = copySet(src.set, dst.set, dst.root);
      return { main, setKeys };
    } finally {
      await closeHandles(dst);
    }
  } finally {
    await closeHandles(src);
  }
}
