/**
 * `fast` durability's flush: commits skip fsync, and this flusher fdatasyncs data.mdb
 * every `everyMs` (bounding what a power cut can lose) and at close — only when
 * something was committed since the last flush, so idle stores cost no descriptor
 * and no disk work.
 *
 * It syncs through its own short-lived descriptor instead of the lmdb environment:
 * LMDB (no WRITEMAP) has already written every committed page to the file with pwrite,
 * so this is what mdb_env_sync would do, and map growth may close and reopen the
 * environment at any time.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';

/** Periodic and final fdatasync of one store's data file. */
export class FastFlusher {
  private file: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private dirty = false;

  constructor(dataFile: string, everyMs: number) {
    this.file = dataFile;
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  /** Called after every commit: the next flush has work to do. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Flushes what was committed so far (no-op when nothing was). */
  flush(): Promise<void> {
    const file = this.file;
    if (file === undefined || !this.dirty) return this.flushing ?? Promise.resolve();
    this.flushing ??= (async () => {
      // Cleared before the sync: a commit landing during it marks the store dirty again.
      this.dirty = false;
      const fh = await openFile(file, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    })()
      .catch((error: unknown) => {
        this.dirty = true;
        process.emitWarning(`lmj-edge: fast-mode flush of ${file} failed: ${(error as Error).message}`, { code: 'LMJ_FLUSH_FAILED' });
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Stops the timer and syncs anything committed since the last flush (after lmdb closed). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    const file = this.file;
    this.file = undefined;
    if (file === undefined || !this.dirty) return;
    this.dirty = false;
    const fd = openSync(file, 'r+');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
