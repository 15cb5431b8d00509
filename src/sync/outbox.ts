/**
 * The outbox: what was committed locally and not yet confirmed upstream. No second
 * copy of the data: per device a cursor (last confirmed `readings` element) in the
 * sync state store, and the backlog is the device's elements after it (append-only,
 * so commit order). A dirty set tells the uplink where to look without opening every
 * instance. The budget (estimated wire bytes of the backlog) triggers back-pressure
 * or oldest-first drop. See docs/sync.md.
 */
import { join } from 'node:path';
import { exportRecords } from '../core/telemetry/records.js';
import type { ReadingRecord } from '../core/telemetry/types.js';
import { deviceIdsOnDisk } from '../devices/layout.js';
import { isLmjError } from '../errors.js';
import { Backlogs, newBacklog } from './backlog.js';
import { recordBytes } from './batch.js';
import { DropOldest } from './drop-oldest.js';
import { SyncStateStore, type Cursor } from './state-store.js';
import type { BudgetPolicy, DeviceAccess, SyncLog } from './types.js';

/** One device's export for a batch. */
export interface DeviceExport {
  deviceId: string;
  records: ReadingRecord[];
  bytes: number;
  /** The device's generation when exported. */
  gen: number;
  /** Fewer records than asked: nothing more after them at export time. */
  complete: boolean;
}

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  dataDir: string;
  durable: boolean;
  devices: DeviceAccess;
  budgetBytes: number;
  policy: BudgetPolicy;
  log?: SyncLog;
}

const INITIAL_AVG_BYTES = 256;

const noLog: SyncLog = { info: () => undefined, warn: () => undefined };

/** The durable outbox of one gateway. */
export class Outbox {
  private readonly store: SyncStateStore;
  private readonly b = new Backlogs();
  private readonly log: SyncLog;
  private avgBytes: number;
  private waiters: (() => void)[] = [];
  private dirtyWaiters: (() => void)[] = [];
  private readonly drops: DropOldest;
  private sweeping: Promise<void> | undefined;
  private closed = false;
  private gateReleased = false;
  private readonly counting = new Set<string>();
  readonly counters = { dropped: 0, backpressureWaits: 0 };

  constructor(private readonly opts: OutboxOptions) {
    this.log = opts.log ?? noLog;
    this.store = new SyncStateStore(join(opts.dataDir, 'gateway', 'sync'), opts.durable);
    this.avgBytes = this.store.getNumber('avgBytes') ?? INITIAL_AVG_BYTES;
    for (const [id, cursor] of this.store.loadCursors()) this.b.devs.set(id, newBacklog(cursor));
    for (const id of this.store.loadDirty()) this.b.dirty.add(id);
    const clean = this.store.takeCleanFlag();
    // Count the dirty devices' backlog now (few), and after a crash look at every device:
    // dirty marks are written in the background and the last ones may be missing.
    this.drops = new DropOldest({
      backlogs: this.b,
      budgetBytes: opts.budgetBytes,
      devices: opts.devices,
      log: this.log,
      avgBytes: () => this.avgBytes,
      closed: () => this.closed,
      refreshDevice: (id) => this.refreshDevice(id),
      clean: (id, gen) => this.clean(id, gen),
      saveCursor: (id, cursor) => this.store.saveCursors([{ id, cursor }]),
      onDropped: (n) => {
        this.counters.dropped += n;
      },
    });
    this.sweeping = this.sweep(clean ? [...this.b.dirty] : undefined).catch(() => undefined);
  }

  private markDirty(id: string): void {
    if (this.b.dirty.has(id)) return;
    this.b.dirty.add(id);
    void this.store.markDirty([id]).catch(() => undefined);
    const w = this.dirtyWaiters;
    this.dirtyWaiters = [];
    for (const fn of w) fn();
  }

  /** The device's last element confirmed upstream (or dropped past); undefined when none. */
  syncedThrough(deviceId: string): Buffer | undefined {
    return this.b.devs.get(deviceId)?.cursor.element;
  }

  /**
   * Ingest hook: a reading was committed for `deviceId` with element timestamp `ts`;
   * `readings` is the device's reading count right after that commit.
   *
   * With `readings` the backlog is set from that absolute count, not incremented: a
   * recount from the instance (an export, the uplink retrying while the router is
   * down) can see a commit before its readings are announced here, and adding them
   * again on top counted them twice (10,250 for 10,000 readings). Announcements of an
   * older commit arriving after such a recount lower the count only until the newer
   * commit's own announcements, which always follow.
   */
  onStored(deviceId: string, ts: number, readings?: number): void {
    if (this.closed) return;
    const d = this.b.dev(deviceId);
    d.gen++;
    const uncounted = d.pending === undefined;
    if (readings !== undefined) this.b.setPending(d, Math.max(0, readings - d.cursor.passed));
    else if (!uncounted) this.b.setPending(d, (d.pending ?? 0) + 1);
    if (uncounted && !this.counting.has(deviceId)) {
      // First reading of a device this run: count its backlog once (it may predate the run).
      this.counting.add(deviceId);
      void this.refreshDevice(deviceId).finally(() => this.counting.delete(deviceId));
    }
    if (d.oldestTs === undefined) d.oldestTs = ts;
    this.markDirty(deviceId);
    if (this.opts.policy === 'drop-oldest' && this.overBudget()) this.drops.start();
  }

  /** Estimated wire bytes of the backlog. */
  backlogBytes(): number {
    return Math.round(this.b.totalPending * this.avgBytes);
  }

  /** True at or above the budget. */
  overBudget(): boolean {
    return this.backlogBytes() >= this.opts.budgetBytes;
  }

  /** Backlog figures for status and metrics. */
  backlog(): { readings: number; bytes: number; devices: number; oldestTs: number | null } {
    let oldest: number | null = null;
    let devices = 0;
    for (const id of this.b.dirty) {
      const d = this.b.devs.get(id);
      if (d === undefined || d.pending === 0) continue;
      devices++;
      if (d.oldestTs !== undefined && (oldest === null || d.oldestTs < oldest)) oldest = d.oldestTs;
    }
    return { readings: this.b.totalPending, bytes: this.backlogBytes(), devices, oldestTs: oldest };
  }

  /** Dirty devices, starting after `after` (round-robin). */
  dirtyOrder(after: string | undefined): string[] {
    const all = [...this.b.dirty];
    const i = after === undefined ? -1 : all.indexOf(after);
    return i < 0 ? all : [...all.slice(i + 1), ...all.slice(0, i + 1)];
  }

  /** Resolves when a device becomes dirty (or the outbox closes). */
  waitDirty(): Promise<void> {
    if (this.b.dirty.size > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.dirtyWaiters.push(resolve));
  }

  /** Lets every `waitDirty` caller return (the uplink is stopping). */
  releaseDirtyWaiters(): void {
    const w = this.dirtyWaiters;
    this.dirtyWaiters = [];
    for (const fn of w) fn();
  }

  /**
   * Exports up to `limit` records after the device's cursor, at most `maxBytes` of them
   * (always at least one). A device that has nothing left and got nothing new is cleaned.
   * A returned export is **in flight** until {@link settle}: drop-oldest never drops its
   * records, so a reading is either uploaded or counted dropped, never both. One export
   * per device at a time (the uplink keeps batches disjoint).
   */
  async exportFor(deviceId: string, limit: number, maxBytes: number): Promise<DeviceExport | undefined> {
    const d = this.b.dev(deviceId);
    // A running drop round goes first (it frees the budget oldest-first), and a drop that
    // is moving this cursor must finish before we read after it.
    await this.drops.round;
    while (d.dropLock !== undefined) await d.dropLock;
    const gen = d.gen;
    // Claimed before the read: a drop round starting during it must skip this device.
    this.b.setInflight(d, 1);
    let records: ReadingRecord[];
    try {
      records = await this.opts.devices.withDevice(deviceId, (store) =>
        store.read((txn) => {
          this.b.refresh(txn, d);
          return exportRecords(txn, d.cursor.element, limit);
        }),
      );
    } catch (err) {
      // A device removed from disk has nothing to send; anything else is retried later.
      this.b.setInflight(d, 0);
      if (isLmjError(err, 'NOT_FOUND') || isLmjError(err, 'BAD_DEVICE_ID')) this.clean(deviceId, gen);
      throw err;
    }
    if (records.length === 0) {
      this.b.setInflight(d, 0);
      this.clean(deviceId, gen);
      this.wakeWaiters();
      return undefined;
    }
    let bytes = 0;
    let n = 0;
    for (const r of records) {
      const b = recordBytes(r);
      if (n > 0 && bytes + b > maxBytes) break;
      bytes += b;
      n++;
    }
    const complete = n === records.length && records.length < limit;
    this.avgBytes = this.avgBytes * 0.9 + (bytes / n) * 0.1;
    this.b.setInflight(d, n);
    // The exact recount and the new byte average may put the estimate under the budget: a
    // gate closed on the old estimate must open now, not at the next confirm (the router may be down).
    this.wakeWaiters();
    return { deviceId, records: records.slice(0, n), bytes, gen, complete };
  }

  /**
   * The batch carrying these exports is over (confirmed, failed or aborted): their
   * devices may be dropped from again. Call exactly once per export, after {@link confirm}.
   */
  settle(exports: readonly DeviceExport[]): void {
    for (const e of exports) {
      const d = this.b.dev(e.deviceId);
      this.b.setInflight(d, 0);
      d.expiredInFlight = [];
    }
    // Readings a failed batch held are droppable again; a round may have skipped them.
    if (this.opts.policy === 'drop-oldest' && !this.closed && this.overBudget()) this.drops.start();
  }

  /** True while a drop-oldest round runs. */
  isDropping(): boolean {
    return this.drops.round !== undefined;
  }

  /** Resolves once no drop round runs (rounds started meanwhile included). */
  async dropIdle(): Promise<void> {
    while (this.drops.round !== undefined) await this.drops.round;
  }

  private clean(deviceId: string, gen: number): void {
    const d = this.b.devs.get(deviceId);
    if (d !== undefined && d.gen !== gen) return;
    // Nothing after the cursor: whatever was counted is gone.
    if (d !== undefined) this.b.setPending(d, 0);
    if (this.b.dirty.delete(deviceId)) void this.store.clearDirty([deviceId]).catch(() => undefined);
  }

  /**
   * The router committed these exports up to `cursorOf(deviceId)`: advance cursors
   * (never backwards — drop-oldest may have passed them), persist, clean finished devices.
   */
  async confirm(done: readonly { exp: DeviceExport; element: Buffer }[]): Promise<{ synced: number }> {
    const entries: { id: string; cursor: Cursor }[] = [];
    const cleaned: string[] = [];
    let synced = 0;
    for (const { exp, element } of done) {
      const d = this.b.dev(exp.deviceId);
      const cur = d.cursor.element;
      if (cur !== undefined && Buffer.compare(element, cur) <= 0) continue;
      const passedNow = exp.records.filter(
        (r) =>
          Buffer.compare(r.element, element) <= 0 &&
          (cur === undefined || Buffer.compare(r.element, cur) > 0) &&
          !d.expiredInFlight.some((x) => x.equals(r.element)),
      ).length;
      synced += passedNow;
      d.cursor = { element, passed: d.cursor.passed + passedNow };
      if (d.pending !== undefined) this.b.setPending(d, Math.max(0, d.pending - passedNow));
      const next = exp.records.find((r) => Buffer.compare(r.element, element) > 0);
      // Unknown until the next export counts it again, unless the batch showed it.
      d.oldestTs = next?.ts;
      if (next === undefined && exp.complete && d.gen === exp.gen) {
        this.b.setPending(d, 0);
        if (this.b.dirty.delete(exp.deviceId)) cleaned.push(exp.deviceId);
      }
      entries.push({ id: exp.deviceId, cursor: d.cursor });
    }
    if (entries.length > 0 || cleaned.length > 0) await this.store.saveCursors(entries, cleaned);
    this.wakeWaiters();
    return { synced };
  }

  /**
   * Retention removed these elements (oldest first) from the device's instance. Those at
   * or before the cursor no longer count as passed (else the backlog, the reading count
   * minus `passed`, under-counts by them); the others were unsynced readings the policy
   * let it drop, and leave the backlog. A moved `passed` is persisted before this resolves.
   */
  async onExpired(deviceId: string, removed: readonly Buffer[]): Promise<void> {
    const d = this.b.devs.get(deviceId);
    if (d === undefined || removed.length === 0) return;
    const cur = d.cursor.element;
    const ahead = removed.filter((e) => cur === undefined || Buffer.compare(e, cur) > 0);
    const behind = removed.length - ahead.length;
    if (ahead.length > 0) {
      if (d.pending !== undefined) this.b.setPending(d, Math.max(0, d.pending - ahead.length));
      // The oldest unsynced reading is gone: unknown until the next count.
      d.oldestTs = undefined;
      if (d.inflight > 0) d.expiredInFlight.push(...ahead);
    }
    this.wakeWaiters();
    if (behind === 0) return;
    d.cursor = { element: cur, passed: Math.max(0, d.cursor.passed - behind) };
    await this.store.saveCursors([{ id: deviceId, cursor: d.cursor }]);
  }

  /** Back-pressure gate: resolves at once under budget (or policy drop-oldest), else when space frees or on close. */
  admit(): Promise<void> {
    if (this.opts.policy !== 'backpressure' || this.closed || this.gateReleased || !this.overBudget()) return Promise.resolve();
    this.counters.backpressureWaits++;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Opens the gate for good (shutdown: let the front ends drain what they hold). */
  releaseGate(): void {
    this.gateReleased = true;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Messages waiting at the gate now. */
  waiting(): number {
    return this.waiters.length;
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0 || (!this.closed && this.overBudget())) return;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Re-counts one device's backlog from its instance; false when it cannot be read. */
  private async refreshDevice(id: string): Promise<boolean> {
    const d = this.b.dev(id);
    try {
      await this.opts.devices.withDevice(id, (store) => store.read((txn) => this.b.refresh(txn, d)));
      return true;
    } catch {
      return false;
    }
  }

  /** Counts backlogs: of `ids`, or of every device on disk (after an unclean stop). */
  private async sweep(ids: string[] | undefined): Promise<void> {
    let list = ids;
    if (list === undefined) {
      list = deviceIdsOnDisk(this.opts.dataDir);
      this.log.info({ devices: list.length }, 'sync: unclean stop detected, checking every device for unsynced readings');
    }
    for (const id of list) {
      if (this.closed) return;
      const d = this.b.dev(id);
      if (!(await this.refreshDevice(id))) continue;
      // Whether an element follows the cursor decides, not the derived count.
      if (d.oldestTs !== undefined) this.markDirty(id);
      else this.clean(id, d.gen);
    }
  }

  /** Resolves once the startup count/sweep is done. */
  async ready(): Promise<void> {
    await this.sweeping;
  }

  /** Releases gate waiters; persists the clean flag. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeWaiters();
    for (const fn of this.dirtyWaiters) fn();
    this.dirtyWaiters = [];
    await this.sweeping;
    await this.drops.round;
    await this.store.close({ avgBytes: this.avgBytes });
  }
}
