/**
 * The data directory's free space, as ingest admission sees it: statfs at most every
 * `checkIntervalMs` (cheap: one syscall per interval, never per message), and a pause at
 * once when any write reports ENOSPC, EDQUOT, EIO or EROFS. While paused, new messages
 * are refused with DISK_FULL (not acked: QoS 1 publishers keep them and redeliver); the
 * pause ends by itself once a statfs shows the threshold free again (after a failed
 * write: also {@link RESUME_MARGIN_BYTES} more than was free at the failure). A read-only
 * file system (the kernel's remount of a failing SD card) has free space but takes no
 * writes: that pause ends only when a probe write ({@link PROBE_FILE}) succeeds.
 */
import { closeSync, fsyncSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LmjError } from '../errors.js';
import type { Logger } from '../http/logger.js';

/** Why ingest is paused. */
export type DiskPauseReason = 'disk full' | 'low disk' | 'disk i/o error' | 'read-only file system';

/** Options of {@link DiskGuard}. */
export interface DiskGuardOptions {
  dir: string;
  minFreeBytes: number;
  checkIntervalMs: number;
  log: Logger;
}

/**
 * After a write failed for lack of space, ingest resumes only once this much more is free
 * than at the failure (and the threshold is met): the write that failed needed more than
 * was free then, and a failed journal append cuts its file back, which frees a little.
 */
export const RESUME_MARGIN_BYTES = 1024 * 1024;

/** Written, fsynced and removed in the data directory to tell whether a read-only file system takes writes again. */
export const PROBE_FILE = '.disk-probe';

const NO_SPACE = /\b(ENOSPC|EDQUOT|EIO|EROFS)\b|No space left on device|Input\/output error|Disk quota exceeded|Read-only file system/;
const READ_ONLY = /\bEROFS\b|Read-only file system/;

/** True when an error (or its cause chain) is the file system running out of space or failing. */
export function isDiskError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { code, message, commitError } = e as { code?: unknown; message?: unknown; commitError?: unknown };
    // lmdb-js: a commit that failed writing its pages or syncing them ("Commit failed").
    if (commitError instanceof Promise) return true;
    if (typeof code === 'number' && (code === 28 || code === 5 || code === 122 || code === 30)) return true;
    if (typeof code === 'string' && NO_SPACE.test(code)) return true;
    if (typeof message === 'string' && NO_SPACE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True when an error (or its cause chain) is a write refused by a read-only file system (EROFS). */
export function isReadOnlyError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    // lmdb's numeric errno or Node's fs code ('EROFS'); an LmjError's own errno is LMJCore's, not the OS's.
    if (code === 30 || (typeof code === 'string' && READ_ONLY.test(code))) return true;
    if (typeof message === 'string' && READ_ONLY.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Free-space watch of the data directory. */
export class DiskGuard {
  private checkedAt = -Infinity;
  private reason: DiskPauseReason | undefined;
  /** Set by a failed write: the free bytes a statfs must show before ingest resumes. */
  private resumeAt = 0;
  /** Set by an EROFS: free space says nothing, only a successful probe write ends the pause. */
  private readOnly = false;
  /** Bytes free to unprivileged writers at the last statfs. */
  freeBytes = 0;
  /** Bytes of the file system at the last statfs. */
  totalBytes = 0;
  /** Times ingest was paused. */
  pauses = 0;

  constructor(private readonly opts: DiskGuardOptions) {
    this.check(true);
  }

  /** Why ingest is paused now, or undefined when it may proceed (re-checks at most once per interval). */
  pausedReason(): DiskPauseReason | undefined {
    this.check(false);
    return this.reason;
  }

  /** A write failed: pause at once when it is a disk error (the next statfs decides when to resume). */
  noteError(err: LmjError | Error): void {
    if (!isDiskError(err)) return;
    if (isReadOnlyError(err)) {
      this.checkedAt = performance.now();
      this.refresh();
      this.readOnly = true;
      this.pause('read-only file system');
      return;
    }
    const full = /ENOSPC|EDQUOT|No space|quota|Commit failed/.test(String(err.message)) || isNoSpaceCause(err);
    this.checkedAt = performance.now();
    this.refresh();
    // An I/O error is not about space: the next statfs decides as usual.
    if (full) this.resumeAt = Math.max(this.resumeAt, this.freeBytes + RESUME_MARGIN_BYTES);
    this.pause(full ? 'disk full' : 'disk i/o error');
  }

  private check(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.checkedAt < this.opts.checkIntervalMs) return;
    this.checkedAt = now;
    if (this.readOnly) {
      if (!this.probeWrite()) return;
      this.readOnly = false;
    }
    if (!this.refresh()) return;
    if (this.freeBytes < Math.max(1, this.opts.minFreeBytes)) this.pause(this.freeBytes < 65_536 ? 'disk full' : 'low disk');
    else if (this.reason !== undefined && this.freeBytes >= this.resumeAt) this.resume();
  }

  /** statfs of the data dir; false when it fails (the state is kept). */
  private refresh(): boolean {
    try {
      const s = statfsSync(this.opts.dir);
      this.freeBytes = s.bavail * s.bsize;
      this.totalBytes = s.blocks * s.bsize;
      return true;
    } catch {
      return false;
    }
  }

  /** Writes, fsyncs and removes the probe file; false when any step fails (still read-only). */
  private probeWrite(): boolean {
    const file = join(this.opts.dir, PROBE_FILE);
    try {
      const fd = openSync(file, 'w');
      try {
        writeSync(fd, 'probe');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      unlinkSync(file);
      return true;
    } catch {
      return false;
    }
  }

  private pause(reason: DiskPauseReason): void {
    if (this.reason === reason) return;
    if (this.reason === undefined) this.pauses++;
    this.reason = reason;
    this.opts.log.error(
      { reason, freeBytes: this.freeBytes, minFreeBytes: this.opts.minFreeBytes, dir: this.opts.dir },
      `ingest paused: ${reason} (${this.freeBytes} bytes free, threshold ${this.opts.minFreeBytes}); QoS 1 messages are not acked until ${reason === 'read-only file system' ? 'a probe write succeeds' : 'space returns'}`,
    );
  }

  private resume(): void {
    this.opts.log.warn({ freeBytes: this.freeBytes, dir: this.opts.dir }, `ingest resumed: ${this.freeBytes} bytes free`);
    this.reason = undefined;
    this.resumeAt = 0;
  }
}

function isNoSpaceCause(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
