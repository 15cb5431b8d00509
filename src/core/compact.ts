/**
 * Copy-compaction of one closed LMJCore instance: LMDB files never shrink, so space
 * freed by deletes is only given back by writing a compacted copy (a record-by-record
 * copy in a worker thread, ./compact-copy.ts says why not `mdb_env_copy2`) and swapping it in.
 *
 * Crash safety: the copy is written to `<dir>/.compact/data.mdb`, fsynced, then
 * renamed over `<dir>/data.mdb` (one atomic rename in the same directory, then the
 * directory is fsynced). Before the rename the old file is untouched; after it the new
 * file is complete. A leftover `.compact/` (crash before the rename) is removed by
 * {@link cleanupCompaction}, which the pool runs before opening an instance.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { copyInstanceInWorker } from './compact-thread.js';

/** The temporary directory a compaction writes its copy into, inside the instance directory. */
export const COMPACT_TMP = '.compact';

/** The steps of a compaction, reported to `onStep` before each one's effect is durable. */
export type CompactStep = 'before-copy' | 'copying' | 'copied' | 'renamed';

/** Result of {@link compactInstance}: data.mdb sizes before and after. */
export interface CompactResult {
  bytesBefore: number;
  bytesAfter: number;
}

/** Removes a leftover temporary copy of an interrupted compaction; true when there was one. */
export function cleanupCompaction(dir: string): boolean {
  const tmp = join(dir, COMPACT_TMP);
  if (!existsSync(tmp)) return false;
  rmSync(tmp, { recursive: true, force: true });
  return true;
}

/** fsync on a threadpool thread: a synchronous fsync of the copy would stall every other device's commits. */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Compacts the instance at `dir`, which must not be open in this process (the pool
 * quiesces and closes it first). `onStep` is called at each step (tests kill the
 * process there). Throws STORE_OPEN_FAILED / the copy's error; the old file stays then.
 */
export async function compactInstance(dir: string, onStep?: (step: CompactStep) => void | Promise<void>): Promise<CompactResult> {
  const data = join(dir, 'data.mdb');
  const tmp = join(dir, COMPACT_TMP);
  cleanupCompaction(dir);
  const bytesBefore = statSync(data).size;
  await onStep?.('before-copy');
  mkdirSync(tmp);
  // The copy runs in a worker thread: other devices' commits keep this event loop.
  const copying = copyInstanceInWorker(dir, tmp);
  await onStep?.('copying');
  await copying;
  const copy = join(tmp, 'data.mdb');
  // The rename must never publish a file whose pages are still only in the page cache.
  await fsyncPath(copy);
  await fsyncPath(tmp);
  await onStep?.('copied');
  renameSync(copy, data);
  await fsyncPath(dir);
  await onStep?.('renamed');
  rmSync(tmp, { recursive: true, force: true });
  return { bytesBefore, bytesAfter: statSync(data).size };
}
