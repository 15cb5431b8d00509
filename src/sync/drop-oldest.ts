/**
 * The outbox's drop-oldest policy: at the budget, the oldest unsynced readings are
 * passed over (kept locally, never uploaded) until the backlog is under
 * budget × {@link DROP_TARGET}, one device's cursor at a time.
 */
import { decodeElement } from '../core/telemetry/model.js';
import { readRoot } from '../core/telemetry/root.js';
import { afterBound, type Backlogs, type DeviceBacklog } from './backlog.js';
import type { Cursor } from './state-store.js';
import type { DeviceAccess, SyncLog } from './types.js';

/** Drop-oldest frees down to this share of the budget, so drops come in chunks. */
export const DROP_TARGET = 0.9;

/** What a drop round reads and moves (the outbox's state and persistence). */
export interface DropContext {
  backlogs: Backlogs;
  budgetBytes: number;
  devices: DeviceAccess;
  log: SyncLog;
  /** Current estimate of one reading's upload bytes. */
  avgBytes(): number;
  closed(): boolean;
  /** Re-counts a device's backlog; false when it cannot be read. */
  refreshDevice(id: string): Promise<boolean>;
  /** Marks a device clean unless it got data since generation `gen`. */
  clean(id: string, gen: number): void;
  /** Persists a device's moved cursor. */
  saveCursor(id: string, cursor: Cursor): Promise<void>;
  /** Counts readings dropped. */
  onDropped(n: number): void;
}

/** Oldest-first drop rounds, at most one at a time. */
export class DropOldest {
  private running: Promise<void> | undefined;

  constructor(private readonly ctx: DropContext) {}

  /** The running round, if any. */
  get round(): Promise<void> | undefined {
    return this.running;
  }

  /** Starts an oldest-first drop round unless one is running. */
  start(): void {
    this.running ??= this.dropRound()
      .catch((err: unknown) => this.ctx.log.warn({ err }, 'outbox drop failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Estimated bytes the drop round may free: the backlog minus what is in flight (about to leave it). */
  droppableBytes(): number {
    return Math.max(0, this.ctx.backlogs.totalPending - this.ctx.backlogs.totalInflight) * this.ctx.avgBytes();
  }

  /**
   * Drops oldest-first until the backlog is under budget × DROP_TARGET. Devices with an
   * export in flight are skipped: their oldest readings may be committed upstream right
   * now, and counting them dropped would break "dropped readings are never uploaded".
   * The outbox's `settle` starts a new round for what a failed batch gives back.
   */
  private async dropRound(): Promise<void> {
    const target = this.ctx.budgetBytes * DROP_TARGET;
    while (!this.ctx.closed() && this.droppableBytes() > target) {
      for (const id of [...this.ctx.backlogs.dirty]) {
        const d = this.ctx.backlogs.devs.get(id);
        if (this.ctx.closed()) return;
        if (d !== undefined && d.inflight === 0 && d.oldestTs === undefined && d.pending !== 0) await this.ctx.refreshDevice(id);
      }
      let pick: string | undefined;
      let pickTs = Infinity;
      for (const id of this.ctx.backlogs.dirty) {
        const d = this.ctx.backlogs.devs.get(id);
        if (d === undefined || d.pending === 0 || d.inflight > 0) continue;
        const ts = d.oldestTs ?? Number.MAX_SAFE_INTEGER;
        if (ts < pickTs) {
          pick = id;
          pickTs = ts;
        }
      }
      if (pick === undefined) return;
      const before = this.droppableBytes();
      await this.dropFrom(pick, target);
      // No progress (nothing left to drop, counts catching up): wait for the next reading.
      if (this.droppableBytes() >= before) return;
    }
  }

  /**
   * Advances one device's cursor past its oldest unsynced readings (kept locally, never sent).
   * Holds the device's drop lock from the pick (same tick) to the persisted cursor, so no
   * export reads from the old cursor meanwhile.
   */
  private dropFrom(deviceId: string, target: number): Promise<void> {
    const d = this.ctx.backlogs.dev(deviceId);
    const p = this.dropFromLocked(d, deviceId, target).finally(() => {
      d.dropLock = undefined;
    });
    d.dropLock = p.catch(() => undefined);
    return p;
  }

  private async dropFromLocked(d: DeviceBacklog, deviceId: string, target: number): Promise<void> {
    const wanted = Math.max(1, Math.ceil((this.droppableBytes() - target) / this.ctx.avgBytes()));
    const before = d.cursor;
    const picked = await this.ctx.devices.withDevice(deviceId, (store) =>
      store.read((txn) => {
        this.ctx.backlogs.refresh(txn, d);
        const root = readRoot(txn);
        if (root === null) return [];
        return txn.setRange(root.readings, { ...afterBound(d.cursor.element), limit: Math.min(wanted, d.pending ?? wanted) + 1 });
      }),
    );
    // Only confirm() moves a cursor besides us, and it cannot while no export is in flight:
    // if it moved anyway, our count is relative to a stale cursor — leave it to the next round.
    if (d.cursor !== before || d.inflight > 0) return;
    const n = Math.min(picked.length, Math.min(wanted, d.pending ?? wanted));
    const last = picked[n - 1];
    if (last === undefined) {
      this.ctx.clean(deviceId, d.gen);
      return;
    }
    const cur = d.cursor.element;
    if (cur !== undefined && Buffer.compare(last, cur) <= 0) return;
    d.cursor = { element: Buffer.from(last), passed: d.cursor.passed + n };
    if (d.pending !== undefined) this.ctx.backlogs.setPending(d, Math.max(0, d.pending - n));
    const next = picked[n];
    d.oldestTs = next === undefined ? undefined : decodeElement(next).ts;
    this.ctx.onDropped(n);
    this.ctx.log.warn({ deviceId, dropped: n, budgetBytes: this.ctx.budgetBytes }, 'outbox budget reached: oldest unsynced readings dropped from the upload (kept locally)');
    await this.ctx.saveCursor(deviceId, d.cursor);
  }
}
