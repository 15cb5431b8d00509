/**
 * The segment writer: group commit onto the active segment file. Every frame handed
 * to `write` in one event-loop turn forms one group; a group is written with one
 * positional `write` and made durable with ONE `fdatasync`, whatever the number of
 * devices in it. One group is in flight at a time; what arrives meanwhile forms the
 * next group, which starts as soon as the previous one is durable.
 *
 * A failed write or fdatasync (ENOSPC, EIO, …) rejects the whole group with
 * JOURNAL_IO and cuts the file back to the last durable end, so a later group
 * overwrites the partial bytes and no garbage is left between records; the next
 * group simply tries again, which is how appending resumes when space returns.
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

function ioError(err: unknown, op: string, path: string): LmjError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new LmjError('JOURNAL_IO', `journal ${op} failed (${code ?? 'error'}): the records are not durable`, {
    cause: err,
    details: { op, path, ...(code === undefined ? {} : { errno: code }) },
  });
}

/** Appends frames to segment files in `dir` with group commit. */
export class SegmentWriter {
  private fh: FileHandle | undefined;
  private segment = -1;
  /** Durable end of the active segment; the next group is written here. */
  private offset = 0;
  /** True when the file may extend past `offset` (a failed write left bytes behind). */
  private dirty = false;
  private forming: Group = { frames: [], bytes: 0, waiters: [], since: 0 };
  private inFlight: Promise<void> | undefined;
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
      if (this.inFlight === undefined && !this.scheduled) {
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
    while (this.inFlight !== undefined || this.forming.waiters.length > 0 || this.scheduled) {
      if (this.inFlight === undefined && !this.scheduled) this.kick();
      await (this.inFlight ?? new Promise((r) => setImmediate(r)));
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
    if (this.inFlight !== undefined || this.forming.waiters.length === 0) return;
    const group = this.forming;
    this.forming = { frames: [], bytes: 0, waiters: [], since: 0 };
    this.inFlight = this.commit(group).finally(() => {
      this.inFlight = undefined;
      // The next group formed while this one was in flight: start it right away.
      this.kick();
    });
  }

  private async commit(group: Group): Promise<void> {
    const started = performance.now();
    let written = started;
    try {
      if (this.fh === undefined) throw new LmjError('JOURNAL_CLOSED');
      // Cut back first: a segment is only left behind (rotation) ending at its last record.
      await this.cutBack(this.fh);
      if (this.offset > SEGMENT_HEADER_BYTES && this.offset + group.bytes > this.segmentBytes) await this.rotate(this.segment + 1);
      const fh = this.fh;
      const data = group.frames.length === 1 ? group.frames[0]! : Buffer.concat(group.frames, group.bytes);
      this.dirty = true;
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, this.offset + done);
        done += bytesWritten;
      }
      written = performance.now();
      await fh.datasync();
      this.dirty = false;
    } catch (err) {
      const e = err instanceof LmjError ? err : ioError(err, 'append', segmentPath(this.dir, this.segment));
      if (this.fh !== undefined) await this.cutBack(this.fh).catch(() => undefined);
      this.events.groupFailed(e);
      for (const w of group.waiters) w.reject(e);
      return;
    }
    const segment = this.segment;
    let at = this.offset;
    this.offset += group.bytes;
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
    const synced = performance.now();
    this.events.groupDurable(segment, group.bytes, keys, ends, {
      records: keys.length,
      bytes: group.bytes,
      waitMs: started - group.since,
      writeMs: written - started,
      syncMs: synced - written,
    });
    group.waiters.forEach((w, i) => w.resolve(perWaiter[i]!));
  }

  /** Truncates the active file back to its durable end when a failure left bytes past it. */
  private async cutBack(fh: FileHandle): Promise<void> {
    if (!this.dirty) return;
    await fh.truncate(this.offset);
    // The shorter size must be durable too, or a crash could bring the bytes back.
    await fh.datasync();
    this.dirty = false;
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
    this.dirty = false;
    this.events.segmentCreated(n);
  }
}
