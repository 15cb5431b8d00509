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
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
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
    this.open.add(id);
    this.append(`+${id}\n`, this.durable);
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
    if (this.open.size === 0) this.append('clean\n', this.durable);
    else if (this.durable) fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  private append(line: string, sync: boolean): void {
    if (this.fd < 0) return;
    writeSync(this.fd, line);
    if (sync) fdatasyncSync(this.fd);
    if (++this.lines >= REWRITE_AFTER_LINES) {
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
    this.lines = this.open.size;
    return openSync(this.path, 'a');
  }
}
