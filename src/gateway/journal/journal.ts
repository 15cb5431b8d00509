/**
 * The gateway write-ahead journal: appends are group-committed to segment files (one
 * fdatasync per group, whatever the number of devices; ./writer.ts), devices report
 * what they applied (`applied`), applied positions are checkpointed durably, and a
 * segment is deleted once every device with records in it has a durable checkpoint
 * past them. `open` recovers (torn tail cut, corruption skipped and reported) and
 * `replay` yields every record not yet applied per the checkpoints. docs/journal.md.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { LmjError } from '../../errors.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { readCheckpoints, removeCheckpointTmp, writeCheckpoints } from './checkpoint-file.js';
import { comparePositions, isPosition, type Position } from './position.js';
import { encodeRecord, validateRecord, type JournalRecord } from './record.js';
import { scanSegment, type ScanFinding, type SegmentInfo } from './scan.js';
import { replaySegments } from './replay.js';
import { SEGMENT_HEADER_BYTES, fsyncDir, listSegments, segmentPath } from './segment-file.js';
import type { JournalHooks, JournalOptions, JournalStats, ReplayEntry } from './types.js';
import { SegmentWriter } from './writer.js';

type Counters = Omit<JournalStats, 'bytes' | 'segments' | 'activeSegment' | 'overBudget' | 'devices'>;

function positive(key: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n <= 0) throw new LmjError('BAD_CONFIG', `journal ${key} must be a positive integer`, { details: { key, value: v } });
  return n;
}

function hook<K extends keyof JournalHooks>(hooks: JournalHooks, name: K, ...args: Parameters<NonNullable<JournalHooks[K]>>): void {
  try {
    (hooks[name] as ((...a: unknown[]) => void) | undefined)?.(...args);
  } catch {
    // Hooks are logs and metrics; a failing hook must never affect the journal.
  }
}

/** The write-ahead journal of one gateway. Create with {@link Journal.open}. */
export class Journal {
  private readonly segments = new Map<number, SegmentInfo>();
  private readonly appliedTo: Map<string, Position>;
  private durable: Map<string, Position>;
  private totalBytes = 0;
  private over = false;
  private closed = false;
  private version = 0;
  private durableVersion = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private spaceWaiters: { resolve(): void; reject(e: LmjError): void }[] = [];
  private readonly writer: SegmentWriter;
  private readonly counters: Counters = {
    appendedRecords: 0, groups: 0, failedGroups: 0, refusedFull: 0, tornTails: 0, tornBytes: 0, corruptSegments: 0,
    corruptCheckpoints: 0, checkpointsWritten: 0, checkpointFailures: 0, segmentsDeleted: 0, replayRecords: 0,
  };

  private constructor(
    private readonly dir: string,
    segmentBytes: number,
    private readonly maxBytes: number,
    private readonly intervalMs: number,
    private readonly maxPayloadBytes: number,
    private readonly hooks: JournalHooks,
    /** Checkpoints as loaded at open: what replay compares against. */
    private readonly loaded: ReadonlyMap<string, Position>,
    /** Segments found at open, in order: what replay reads. */
    private readonly recovered: readonly SegmentInfo[],
  ) {
    this.appliedTo = new Map(loaded);
    this.durable = new Map(loaded);
    for (const info of recovered) this.addSegment(info);
    this.writer = new SegmentWriter(dir, segmentBytes, {
      segmentCreated: (n) => this.addSegment({ segment: n, bytes: SEGMENT_HEADER_BYTES, validEnd: SEGMENT_HEADER_BYTES, devices: new Map(), records: 0, pending: 0 }),
      groupDurable: (n, bytes, keys, ends, timing) => {
        this.onDurable(n, bytes, keys, ends);
        hook(this.hooks, 'group', timing);
      },
      groupFailed: (err) => {
        this.counters.failedGroups++;
        hook(this.hooks, 'appendFailed', err);
      },
    });
  }

  /**
   * Opens (or creates) the journal in `options.dir`: reads the checkpoints, scans every
   * segment (cutting a torn tail off the last one, reporting corruption), starts a new
   * active segment and deletes segments that are fully applied. Throws BAD_CONFIG,
   * JOURNAL_IO (the directory cannot be read or written).
   */
  static async open(options: JournalOptions): Promise<Journal> {
    const segmentBytes = positive('segmentBytes', options.segmentBytes, 32 * 1024 * 1024);
    const maxBytes = positive('maxBytes', options.maxBytes, 512 * 1024 * 1024);
    if (maxBytes < 2 * segmentBytes) {
      throw new LmjError('BAD_CONFIG', 'journal maxBytes must be at least two segments', { details: { key: 'maxBytes', value: maxBytes, segmentBytes } });
    }
    const intervalMs = positive('checkpointIntervalMs', options.checkpointIntervalMs, 200);
    const maxPayloadBytes = positive('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024);
    const hooks = options.hooks ?? {};
    const { dir } = options;
    try {
      await mkdir(dir, { recursive: true });
      await removeCheckpointTmp(dir);
      const counters: Partial<Counters> = {};
      const checkpoints = await loadCheckpoints(dir, hooks, counters);
      const findings: ScanFinding[] = [];
      const numbers = await listSegments(dir);
      const recovered: SegmentInfo[] = [];
      for (const [i, n] of numbers.entries()) {
        const info = await scanSegment(dir, n, i === numbers.length - 1, checkpoints, findings);
        if (info !== undefined) recovered.push(info);
      }
      const j = new Journal(dir, segmentBytes, maxBytes, intervalMs, maxPayloadBytes, hooks, checkpoints, recovered);
      Object.assign(j.counters, counters);
      j.report(findings);
      j.counters.replayRecords = recovered.reduce((sum, s) => sum + s.pending, 0);
      await j.writer.start((numbers[numbers.length - 1] ?? 0) + 1);
      await j.collect();
      return j;
    } catch (err) {
      if (err instanceof LmjError) throw err;
      throw new LmjError('JOURNAL_IO', `cannot open the journal in ${dir}: ${(err as Error).message}`, { cause: err, details: { dir } });
    }
  }

  /**
   * Appends records as one durable unit of the forming group. Resolves with each
   * record's end position once the group is fdatasynced (acknowledge then, not before).
   * Rejects (nothing of this call is durable) with INVALID_PARAM (bad record; nothing
   * queued), JOURNAL_FULL (over the byte budget), JOURNAL_IO (write/fsync failed, e.g.
   * ENOSPC; `details.errno`), JOURNAL_CLOSED.
   */
  async append(records: readonly JournalRecord[]): Promise<Position[]> {
    if (this.closed) throw new LmjError('JOURNAL_CLOSED');
    if (this.over) {
      this.counters.refusedFull++;
      throw new LmjError('JOURNAL_FULL', `journal holds ${this.totalBytes} bytes, budget ${this.maxBytes}: applying is behind`, {
        details: { bytes: this.totalBytes, maxBytes: this.maxBytes },
      });
    }
    if (records.length === 0) return [];
    for (const r of records) validateRecord(r, this.maxPayloadBytes);
    const positions = await this.writer.write(records.map(encodeRecord), records.map((r) => r.deviceId));
    this.counters.appendedRecords += records.length;
    return positions;
  }

  /**
   * Reports that `deviceId`'s records up to `position` (a record's end position from
   * `append` or `replay`) are durably applied to its instance. Positions only move
   * forward (an older one is ignored). Checkpointed within `checkpointIntervalMs`.
   * Throws INVALID_PARAM for a bad id or a position past the durable end.
   */
  applied(deviceId: string, position: Position): void {
    if (!isValidDeviceId(deviceId) || !isPosition(position) || comparePositions(position, this.writer.position) > 0) {
      throw new LmjError('INVALID_PARAM', 'journal applied(): bad device id or position past the journal end', {
        details: { deviceId: String(deviceId).slice(0, 80), position },
      });
    }
    const prev = this.appliedTo.get(deviceId);
    if (prev !== undefined && comparePositions(prev, position) >= 0) return;
    this.appliedTo.set(deviceId, { segment: position.segment, offset: position.offset });
    this.version++;
    if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.checkpoint().catch(() => undefined);
      }, this.intervalMs);
      // Applied data is already durable in the devices: a pending checkpoint must not keep the process alive.
      this.timer.unref();
    }
  }

  /**
   * Writes the applied positions durably now (if changed), then deletes the segments
   * every device has applied. Rejects with JOURNAL_IO (retried at the next interval).
   */
  checkpoint(): Promise<void> {
    const run = this.chain.then(() => this.runCheckpoint());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The durable checkpoint of a device, if any. */
  checkpointOf(deviceId: string): Position | undefined {
    return this.durable.get(deviceId);
  }

  /**
   * Every record found at open whose end lies past its device's checkpoint (as loaded
   * at open), in journal order; corrupt parts are skipped (reported at open). Records
   * appended after open are not included. Run it before acking new messages of the
   * same devices if per-device order matters.
   */
  replay(): AsyncIterable<ReplayEntry> {
    return replaySegments(this.dir, this.recovered, this.loaded);
  }

  /** True while the journal is over its byte budget (appends refused with JOURNAL_FULL). */
  overBudget(): boolean {
    return this.over;
  }

  /** Resolves when the journal is under its budget; rejects with JOURNAL_CLOSED on close. */
  waitForSpace(): Promise<void> {
    if (!this.over) return Promise.resolve();
    if (this.closed) return Promise.reject(new LmjError('JOURNAL_CLOSED'));
    return new Promise((resolve, reject) => this.spaceWaiters.push({ resolve, reject }));
  }

  /** Counters and gauges for metrics. */
  stats(): JournalStats {
    const devices = new Set(this.appliedTo.keys());
    for (const s of this.segments.values()) for (const id of s.devices.keys()) devices.add(id);
    return {
      ...this.counters,
      bytes: this.totalBytes,
      segments: this.segments.size,
      activeSegment: this.writer.position.segment,
      overBudget: this.over,
      devices: devices.size,
    };
  }

  /** Refuses new appends, lets queued groups finish, writes a last checkpoint, closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.checkpoint().catch(() => undefined);
    for (const w of this.spaceWaiters.splice(0)) w.reject(new LmjError('JOURNAL_CLOSED'));
  }

  private report(findings: readonly ScanFinding[]): void {
    for (const f of findings) {
      if (f.kind === 'corrupt') {
        this.counters.corruptSegments++;
        hook(this.hooks, 'corrupt', f.error);
      } else {
        this.counters.tornTails++;
        this.counters.tornBytes += f.bytes;
        hook(this.hooks, 'tornTail', { segment: f.segment, offset: f.offset, bytes: f.bytes });
      }
    }
  }

  private addSegment(info: SegmentInfo): void {
    this.segments.set(info.segment, info);
    this.totalBytes += info.bytes;
    this.updateBudget();
  }

  private onDurable(n: number, bytes: number, keys: readonly string[], ends: readonly number[]): void {
    const info = this.segments.get(n);
    if (info === undefined) return;
    info.bytes += bytes;
    info.validEnd += bytes;
    info.records += keys.length;
    keys.forEach((id, i) => info.devices.set(id, ends[i]!));
    this.totalBytes += bytes;
    this.counters.groups++;
    this.updateBudget();
  }

  private updateBudget(): void {
    const over = this.totalBytes >= this.maxBytes;
    if (over === this.over) return;
    this.over = over;
    hook(this.hooks, 'budget', over);
    if (!over) for (const w of this.spaceWaiters.splice(0)) w.resolve();
  }

  private async runCheckpoint(): Promise<void> {
    try {
      if (this.version !== this.durableVersion) {
        const version = this.version;
        const snapshot = new Map(this.appliedTo);
        await writeCheckpoints(this.dir, snapshot);
        this.durable = snapshot;
        this.durableVersion = version;
        this.counters.checkpointsWritten++;
      }
      await this.collect();
    } catch (err) {
      const e = err instanceof LmjError ? err : new LmjError('JOURNAL_IO', `journal checkpoint failed: ${(err as Error).message}`, { cause: err });
      this.counters.checkpointFailures++;
      hook(this.hooks, 'checkpointFailed', e);
      throw e;
    }
  }

  /** Deletes every non-active segment whose devices all have a durable checkpoint past their records in it. */
  private async collect(): Promise<void> {
    const active = this.writer.position.segment;
    const done: SegmentInfo[] = [];
    for (const info of this.segments.values()) {
      if (info.segment === active) continue;
      let applied = true;
      for (const [id, end] of info.devices) {
        const cp = this.durable.get(id);
        if (cp === undefined || comparePositions(cp, { segment: info.segment, offset: end }) < 0) {
          applied = false;
          break;
        }
      }
      if (applied) done.push(info);
    }
    if (done.length === 0) return;
    for (const info of done) {
      await unlink(segmentPath(this.dir, info.segment)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new LmjError('JOURNAL_IO', `cannot delete journal segment ${info.segment}`, { cause: err });
      });
      this.segments.delete(info.segment);
      this.totalBytes -= info.bytes;
      this.counters.segmentsDeleted++;
    }
    await fsyncDir(this.dir);
    this.prune();
    this.updateBudget();
  }

  /** Forgets devices with no records left in any segment: their checkpoint no longer matters. */
  private prune(): void {
    const live = new Set<string>();
    for (const s of this.segments.values()) for (const id of s.devices.keys()) live.add(id);
    let changed = false;
    for (const id of this.appliedTo.keys()) {
      if (!live.has(id)) {
        this.appliedTo.delete(id);
        changed = true;
      }
    }
    if (changed) this.version++;
  }
}

async function loadCheckpoints(dir: string, hooks: JournalHooks, counters: Partial<Counters>): Promise<Map<string, Position>> {
  try {
    return await readCheckpoints(dir);
  } catch (err) {
    if (!(err instanceof LmjError) || err.code !== 'JOURNAL_CORRUPT') throw err;
    // Without checkpoints every record replays; the devices' identity dedupe makes that safe.
    counters.corruptCheckpoints = 1;
    hook(hooks, 'corrupt', err);
    return new Map();
  }
}
