/**
 * Which device instances are mapped right now, kept in a small append-only file so
 * that after a crash (SIGKILL, abort, power cut) the next start knows which
 * instances were open when it happened: those are the suspects a failing disk or a
 * torn write may have damaged, and the ones whose read may have killed the process.
 *
 * Lines: `+<id>` before an instance is opened (or its directory worked on), `-<id>`
 * after it was closed, `clean` once a clean stop closed them all. An id is suspect
 * when its last `+` has no later `-` and no `clean` follows. A torn last line is at
 * worst one extra suspect. `+` lines are fdatasynced before the open (with
 * `durable`), `-` lines are not: losing one only costs a verification.
 *
 * {@link InUseLog.record} makes a `+` line durable off the main thread, one fdatasync
 * for every line written meanwhile: the pool awaits it before it opens, so a pool that
 * opens hundreds of instances a second does not block the event loop on a sync per open.
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isValidDeviceId } from '../device-id.js';

/** Lines after which the file is rewritten with only the instances open now. */
const REWRITE_AFTER_LINES = 10_000;

/** What the previous run left in the file. */
export interface PreviousRun {
  /** False when the file ended without `clean` (the run crashed or was killed). */
  cleanStop: boolean;
  /** Device ids open when it ended (empty after a clean stop), sorted. */
  suspects: string[];
}

/** Parses the log's text (see the file comment). */
export function parseInUse(text: string): PreviousRun {
  const open = new Set<string>();
  let cleanStop = true;
  for (const line of text.split('\n')) {
    if (line === 'clean') {
      open.clear();
      cleanStop = true;
    } else if (line.startsWith('+')) {
      cleanStop = false;
      if (isValidDeviceId(line.slice(1))) open.add(line.slice(1));
    } else if (line.startsWith('-')) open.delete(line.slice(1));
  }
  return { cleanStop, suspects: [...open].sort() };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The in-use log of one pool. Not shared between processes. */
export class InUseLog {
  /** What the previous run left: read once at open. */
  readonly previous: PreviousRun;
  private fd: number;
  private lines = 0;
  private readonly open = new Set<string>();
  /** Ids whose `+` line is written but not yet fdatasynced. */
  private readonly unsynced = new Set<string>();
  /** The fdatasync in flight, and the one queued behind it (for lines written after it started). */
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /**
   * Opens the log at `path`, reading what the previous run left, and starts a new
   * file that still lists the previous run's suspects as open (they stay suspect
   * until {@link closed} is recorded for them, e.g. after verification).
   */
  constructor(
    private readonly path: string,
    private readonly durable: boolean,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.previous = existsSync(path) ? parseInUse(readFileSync(path, 'utf8')) : { cleanStop: true, suspects: [] };
    for (const id of this.previous.suspects) this.open.add(id);
    this.fd = this.rewrite();
  }

  /** Records that `id` is about to be mapped (durable before it returns, with `durable`). */
  opened(id: string): void {
    if (this.open.has(id) && !this.unsynced.has(id)) return;
    if (!this.open.has(id)) {
      this.open.add(id);
      this.append(`+${id}\n`, this.durable);
    } else if (this.fd >= 0) {
      fdatasyncSync(this.fd);
    }
    this.unsynced.clear();
  }

  /**
   * Records that `id` is about to be mapped, durably but without blocking: undefined when
   * that is already on disk, else a promise resolving once it is (one grouped fdatasync on
   * the thread pool). A later {@link opened} of the same id then costs nothing.
   */
  record(id: string): Promise<void> | undefined {
    if (!this.open.has(id)) {
      this.open.add(id);
      this.append(`+${id}\n`, false);
      if (this.durable) this.unsynced.add(id);
    }
    if (!this.unsynced.has(id)) return undefined;
    if (this.syncing === undefined) return (this.syncing = this.syncNow());
    // The sync in flight may have started before this line was written: the next one covers it.
    this.queued ??= this.syncing.then(
      () => this.next(),
      () => this.next(),
    );
    return this.queued;
  }

  private next(): Promise<void> {
    this.queued = undefined;
    return (this.syncing ??= this.syncNow());
  }

  /** fdatasyncs everything written so far on the thread pool. */
  private syncNow(): Promise<void> {
    const covered = [...this.unsynced];
    const fd = this.fd;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.syncing = undefined;
        if (err !== null) {
          reject(err);
          return;
        }
        for (const id of covered) this.unsynced.delete(id);
        resolve();
      });
    });
  }

  /** Records that `id` is no longer mapped. */
  closed(id: string): void {
    if (!this.open.delete(id)) return;
    this.append(`-${id}\n`, false);
  }

  /**
   * Closes the file at a stop; records `clean` when nothing is left open (an instance
   * still recorded open, e.g. one whose verification was cut short, stays suspect).
   */
  markClean(): void {
    if (this.fd < 0) return;
    this.unsynced.clear();
    if (this.open.size === 0) this.append('clean\n', this.durable);
    else if (this.durable) fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  private append(line: string, sync: boolean): void {
    if (this.fd < 0) return;
    writeSync(this.fd, line);
    if (sync) fdatasyncSync(this.fd);
    // Never under an fdatasync in flight on the thread pool: it holds the descriptor.
    if (++this.lines >= REWRITE_AFTER_LINES && this.syncing === undefined && this.queued === undefined) {
      closeSync(this.fd);
      this.fd = this.rewrite();
    }
  }

  /** Atomically replaces the file with `+id` for every instance open now; returns the new append descriptor. */
  private rewrite(): number {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, [...this.open].map((id) => `+${id}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    fsyncDir(dirname(this.path));
    this.unsynced.clear();
    this.lines = this.open.size;
    return openSync(this.path, 'a');
  }
}
