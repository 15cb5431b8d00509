/**
 * The segment writer: group commit onto the active segment file. Every frame handed
 * to `write` in one event-loop turn forms one group; a group is written with one
 * positional `write` and made durable with ONE `fdatasync`, whatever the number of
 * devices in it.
 *
 * Pipelined: the next group is written as soon as the previous group's write returned,
 * while that group's fdatasync is still in flight, and starts its own fdatasync at once
 * (at most {@link PIPELINE} groups in flight). A group is reported durable, and its
 * callers resolve, only after its OWN fdatasync completed and every earlier group was
 * reported durable, so acks stay in journal order and never precede their sync. A message
 * arriving just after a sync started waits for one sync, not for that one and then its own.
 *
 * A failed write or fdatasync (ENOSPC, EIO, …) rejects the whole group with
 * JOURNAL_IO, and every later group already in flight with it (their bytes lie past the
 * failed ones). The last of them cuts the file back to the last durable end (or, if that
 * failed, the next group does before its write), so a later group overwrites the partial
 * bytes and no garbage is left between records; the next group simply tries again, which
 * is how appending resumes when space returns.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { LmjError } from '../../errors.js';
import type { Position } from './position.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, fsyncDir, segmentPath } from './segment-file.js';

/** One caller's frames inside a forming group. */
interface Waiter {
  sizes: number[];
  keys: readonly string[];
  resolve(ends: Position[]): void;
  reject(err: LmjError): void;
}

interface Group {
  frames: Buffer[];
  bytes: number;
  waiters: Waiter[];
  /** performance.now() when its first frame was queued. */
  since: number;
}

/** Where one durable group's time went (ms): queued → commit start, the write, the fdatasync. */
export interface GroupTiming {
  records: number;
  bytes: number;
  /** From its first frame queued until its write started (the previous group's commit, the turn's end). */
  waitMs: number;
  writeMs: number;
  syncMs: number;
}

/** What the writer reports to its owner (the journal's segment index and counters). */
export interface WriterEvents {
  /** A new segment file exists and its directory entry is durable. */
  segmentCreated(segment: number): void;
  /**
   * A group was written and fdatasynced: `keys[i]` (the caller's tag, the device id)
   * ends at `ends[i]` in `segment`. Called before any caller's promise resolves.
   */
  groupDurable(segment: number, bytes: number, keys: readonly string[], ends: readonly number[], timing: GroupTiming): void;
  /** A group failed; its callers get `err`. */
  groupFailed(err: LmjError): void;
}

/** Groups in flight at once: one whose fdatasync runs, and the next one written meanwhile. */
export const PIPELINE = 2;

function ioError(err: unknown, op: string, path: string): LmjError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new LmjError('JOURNAL_IO', `journal ${op} failed (${code ?? 'error'}): the records are not durable`, {
    cause: err,
    details: { op, path, ...(code === undefined ? {} : { errno: code }) },
  });
}

/** Appends frames to segment files in `dir` with pipelined group commit. */
export class SegmentWriter {
  private fh: FileHandle | undefined;
  private segment = -1;
  /** Durable end of the active segment (every group before it reported durable). */
  private offset = 0;
  /** End of what was written to the active segment (≥ offset): the next group is written here. */
  private writeEnd = 0;
  /** True when a failure may have left bytes past `offset`: cut back before the next write. */
  private dirty = false;
  private forming: Group = { frames: [], bytes: 0, waiters: [], since: 0 };
  /** Groups started and not yet settled (durable or failed). */
  private pending = 0;
  /** True while a group is being written (or cut back, rotated): the next one starts after it. */
  private writing = false;
  /** Settles when the last started group (and so every group before it) settled. */
  private tail: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly events: WriterEvents,
  ) {}

  /** Creates segment `n` as the active segment (durable directory entry). */
  async start(n: number): Promise<void> {
    await this.rotate(n);
  }

  /** The active segment and its durable end. */
  get position(): Position {
    return { segment: this.segment, offset: this.offset };
  }

  /**
   * Queues frames (tagged with `keys`, same length) for the forming group; resolves
   * with each frame's end position once the group is durable, rejects with JOURNAL_IO
   * when it is not.
   */
  write(frames: readonly Buffer[], keys: readonly string[]): Promise<Position[]> {
    return new Promise<Position[]>((resolve, reject) => {
      const sizes: number[] = [];
      if (this.forming.waiters.length === 0) this.forming.since = performance.now();
      for (const f of frames) {
        this.forming.frames.push(f);
        this.forming.bytes += f.length;
        sizes.push(f.length);
      }
      this.forming.waiters.push({ sizes, keys, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: every append of this event-loop turn (all the
        // I/O callbacks of one poll phase) joins the same group.
        setImmediate(() => {
          this.scheduled = false;
          this.kick();
        });
      }
    });
  }

  /** Resolves when every queued group has been written (or failed). */
  async drain(): Promise<void> {
    while (this.pending > 0 || this.forming.waiters.length > 0 || this.scheduled) {
      if (this.pending === 0 && !this.scheduled) this.kick();
      await (this.pending > 0 ? this.tail : new Promise((r) => setImmediate(r)));
    }
  }

  /** Drains, then closes the active segment file. */
  async close(): Promise<void> {
    await this.drain();
    const fh = this.fh;
    this.fh = undefined;
    if (fh !== undefined) {
      if (this.dirty) await fh.truncate(this.offset).catch(() => undefined);
      await fh.close();
    }
  }

  private kick(): void {
    if (this.writing || this.forming.waiters.length === 0 || this.pending >= PIPELINE) return;
    // After a failure, the cut back must see the file with nothing in flight.
    if (this.dirty && this.pending > 0) return;
    const group = this.forming;
    this.forming = { frames: [], bytes: 0, waiters: [], since: 0 };
    this.writing = true;
    this.pending++;
    const done = this.commit(group, this.tail);
    this.tail = done;
    void done.then(() => {
      this.pending--;
      // The next group formed while this one was in flight: start it right away.
      this.kick();
    });
  }

  /** Writes the group, then (the next group may start writing) syncs it; settles in journal order. */
  private async commit(group: Group, before: Promise<void>): Promise<void> {
    const started = performance.now();
    let prev = before;
    let fh: FileHandle;
    let at: number;
    try {
      if (this.fh === undefined) throw new LmjError('JOURNAL_CLOSED');
      if (this.dirty || (this.writeEnd > SEGMENT_HEADER_BYTES && this.writeEnd + group.bytes > this.segmentBytes)) {
        // Cutting back and rotating change the file under earlier groups: let them settle first.
        await prev;
        prev = Promise.resolve();
        // Cut back first: a segment is only left behind (rotation) ending at its last record.
        await this.cutBack(this.fh);
        if (this.offset > SEGMENT_HEADER_BYTES && this.offset + group.bytes > this.segmentBytes) await this.rotate(this.segment + 1);
      }
      fh = this.fh;
      at = this.writeEnd;
      const data = group.frames.length === 1 ? group.frames[0]! : Buffer.concat(group.frames, group.bytes);
      this.writeEnd = at + data.length;
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, at + done);
        done += bytesWritten;
      }
    } catch (err) {
      this.writing = false;
      return this.fail(group, err, prev);
    }
    const written = performance.now();
    // Written: the next group may write while this one syncs.
    this.writing = false;
    this.kick();
    try {
      await fh.datasync();
    } catch (err) {
      return this.fail(group, err, prev);
    }
    const synced = performance.now();
    await prev;
    if (at !== this.offset) {
      // An earlier group in flight failed: this group's bytes follow bytes that are not durable.
      return this.fail(group, new LmjError('JOURNAL_IO', 'journal append failed: an earlier group in flight was not made durable', { details: { op: 'append', path: segmentPath(this.dir, this.segment) } }), prev);
    }
    this.settle(group, at, { records: 0, bytes: group.bytes, waitMs: started - group.since, writeMs: written - started, syncMs: synced - written });
  }

  /** A durable group (every earlier one durable too): advances the durable end, reports, resolves its callers. */
  private settle(group: Group, start: number, timing: GroupTiming): void {
    const segment = this.segment;
    let at = start;
    this.offset = start + group.bytes;
    const keys: string[] = [];
    const ends: number[] = [];
    const perWaiter = group.waiters.map((w) =>
      w.sizes.map((size, i) => {
        at += size;
        keys.push(w.keys[i]!);
        ends.push(at);
        return { segment, offset: at };
      }),
    );
    this.events.groupDurable(segment, group.bytes, keys, ends, { ...timing, records: keys.length });
    group.waiters.forEach((w, i) => w.resolve(perWaiter[i]!));
  }

  /**
   * A group that is not durable: rejected once every earlier group settled. The file is cut
   * back to the durable end now when no later group is in flight (else by the last of them
   * to fail, or before the next write).
   */
  private async fail(group: Group, err: unknown, prev: Promise<void>): Promise<void> {
    // Set at once: no new group starts until the cut back (kick), nothing later is reported durable.
    if (this.fh !== undefined) this.dirty = true;
    await prev;
    const e = err instanceof LmjError ? err : ioError(err, 'append', segmentPath(this.dir, this.segment));
    if (this.fh !== undefined && this.pending === 1 && !this.writing) await this.cutBack(this.fh).catch(() => undefined);
    this.events.groupFailed(e);
    for (const w of group.waiters) w.reject(e);
  }

  /** Truncates the active file back to its durable end when a failure left bytes past it. */
  private async cutBack(fh: FileHandle): Promise<void> {
    if (!this.dirty) return;
    await fh.truncate(this.offset);
    // The shorter size must be durable too, or a crash could bring the bytes back.
    await fh.datasync();
    this.dirty = false;
    this.writeEnd = this.offset;
  }

  /**
   * Makes segment `n` the active one: header written and synced, directory entry
   * fsynced. On failure the half-made file is removed and the old segment stays active.
   */
  private async rotate(n: number): Promise<void> {
    const path = segmentPath(this.dir, n);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'w');
      const header = encodeSegmentHeader(n);
      const { bytesWritten } = await fh.write(header, 0, header.length, 0);
      if (bytesWritten !== header.length) throw Object.assign(new Error('short header write'), { code: 'ENOSPC' });
      await fh.datasync();
      await fsyncDir(this.dir);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw ioError(err, 'segment creation', path);
    }
    // The old segment ends at its last durable record (cut back before rotating).
    await this.fh?.close().catch(() => undefined);
    this.fh = fh;
    this.segment = n;
    this.offset = SEGMENT_HEADER_BYTES;
    this.writeEnd = SEGMENT_HEADER_BYTES;
    this.dirty = false;
    this.events.segmentCreated(n);
  }
}
