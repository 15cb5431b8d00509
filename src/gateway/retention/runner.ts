/**
 * The retention runner: per device, removes expired readings (age, then size) in small
 * write transactions through the pool — paced to a duty cycle (./pacing.ts), so ingest
 * commits of every device keep their share of the event loop, the disk and the
 * threadpool — then copy-compacts the instance under the pool's exclusive hold (the
 * device's writes queue meanwhile; the copy runs in a worker thread) so the space goes
 * back to the disk. `stop()` ends a run in progress after its current transaction.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep, setImmediate as yieldTurn } from 'node:timers/promises';
import { compactInstance, type CompactStep } from '../../core/compact.js';
import { expireOldest, type ExpireStep } from '../../core/telemetry/expire.js';
import { readRoot } from '../../core/telemetry/root.js';
import type { DevicePool } from '../../devices/pool/types.js';
import { pauseAfter } from './pacing.js';
import { isActive, policyFor, type RetentionPolicy, type RetentionSettings } from './policy.js';

/** Compact after a run removed at least this share of a device's readings (or the file is over maxBytes). */
export const COMPACT_MIN_SHARE = 0.1;
/** A size-bound run removes down to this share of maxBytes, so it does not run again for every new reading. */
export const BYTES_TARGET = 0.9;

/** Where the runner learns what was synced upstream. */
export interface SyncCursors {
  /** The device's last synced element; undefined when nothing is synced yet. */
  syncedThrough(deviceId: string): Buffer | undefined;
  /**
   * Retention committed the removal of these elements (oldest first): the outbox's
   * counts of what lies at or before its cursor and of its backlog follow them.
   */
  onExpired?(deviceId: string, removed: readonly Buffer[]): void | Promise<void>;
}

/** What the runner needs. `sync` absent = no upstream: every reading counts as synced. */
export interface RetentionDeps {
  pool: DevicePool;
  settings: RetentionSettings;
  listDevices(): string[] | Promise<string[]>;
  sync?: SyncCursors | undefined;
  /** Test hook: called at each compaction step. */
  onCompactStep?: (deviceId: string, step: CompactStep) => void | Promise<void>;
}

/** One device's result of a run. */
export interface DeviceRun {
  deviceId: string;
  expired: number;
  unsyncedDropped: number;
  compacted: boolean;
  bytesBefore: number;
  bytesAfter: number;
  error?: { code: string; message: string };
}

/** `GET /retention/status`, `lmj-edge retention status`. */
export interface RetentionStatus {
  intervalMs: number;
  running: boolean;
  lastRunAt: number | null;
  lastRunDurationMs: number | null;
  counters: { readingsExpired: number; bytesReclaimed: number; unsyncedDropped: number; compactions: number; runs: number; failures: number };
  lastRun: DeviceRun[];
}

/** Runs retention over all devices (or one), at most one run at a time. */
export class RetentionRunner {
  private running: Promise<DeviceRun[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastRun: DeviceRun[] = [];
  private lastRunAt: number | null = null;
  private lastRunDurationMs: number | null = null;
  /** Aborted by `stop()`: a paced run ends at its next pause instead of running on. */
  private stopping = new AbortController();
  readonly counters = { readingsExpired: 0, bytesReclaimed: 0, unsyncedDropped: 0, compactions: 0, runs: 0, failures: 0 };

  constructor(private readonly deps: RetentionDeps) {}

  /** Starts the periodic background run (no-op for interval 0). */
  start(): void {
    const ms = this.deps.settings.intervalMs;
    if (ms <= 0 || this.timer !== undefined) return;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.timer = setInterval(() => void this.run().catch(() => undefined), ms);
    this.timer.unref();
  }

  /** Stops the timer and ends a run in progress after its current transaction or compaction. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }

  /** One run (joins the one in progress when no device is named). */
  run(deviceId?: string, now = Date.now()): Promise<DeviceRun[]> {
    if (this.running !== undefined) return deviceId === undefined ? this.running : this.running.then(() => this.run(deviceId, now));
    const started = Date.now();
    this.running = this.runDevices(deviceId, now).finally(() => {
      this.running = undefined;
      this.lastRunAt = started;
      this.lastRunDurationMs = Date.now() - started;
    });
    return this.running;
  }

  status(): RetentionStatus {
    return {
      intervalMs: this.deps.settings.intervalMs,
      running: this.running !== undefined,
      lastRunAt: this.lastRunAt,
      lastRunDurationMs: this.lastRunDurationMs,
      counters: { ...this.counters },
      lastRun: this.lastRun,
    };
  }

  private async runDevices(only: string | undefined, now: number): Promise<DeviceRun[]> {
    const ids = only === undefined ? await this.deps.listDevices() : [only];
    const out: DeviceRun[] = [];
    for (const id of ids) {
      if (this.stopping.signal.aborted) break;
      const policy = policyFor(this.deps.settings, id);
      if (!isActive(policy)) continue;
      try {
        out.push(await this.runDevice(id, policy, now));
      } catch (err) {
        this.counters.failures++;
        const e = err as { code?: unknown; message?: unknown };
        out.push({ deviceId: id, expired: 0, unsyncedDropped: 0, compacted: false, bytesBefore: 0, bytesAfter: 0, error: { code: String(e.code ?? 'INTERNAL'), message: String(e.message ?? err) } });
      }
    }
    this.counters.runs++;
    this.lastRun = out;
    return out;
  }

  private dataBytes(id: string): number {
    return statSync(join(this.deps.pool.pathOf(id), 'data.mdb')).size;
  }

  private async runDevice(id: string, policy: RetentionPolicy, now: number): Promise<DeviceRun> {
    const { pool } = this.deps;
    const before = await pool.use(id, (s) => ({ used: s.stat().usedBytes, count: s.read((t) => readRoot(t)?.readingCount ?? 0) }));
    const bytesBefore = this.dataBytes(id);
    const run: DeviceRun = { deviceId: id, expired: 0, unsyncedDropped: 0, compacted: false, bytesBefore, bytesAfter: bytesBefore };
    if (policy.maxAgeMs !== undefined) await this.expire(id, run, { beforeTs: now - policy.maxAgeMs, quota: Infinity, policy });
    if (policy.maxBytes !== undefined && before.used > policy.maxBytes * BYTES_TARGET && before.count > 0) {
      // LMDB reuses freed pages but never shrinks: estimate the readings to remove from the
      // used size per reading; compaction below makes the size real.
      const perReading = before.used / before.count;
      const keep = Math.floor((policy.maxBytes * BYTES_TARGET) / perReading);
      const quota = before.count - run.expired - keep;
      if (quota > 0) await this.expire(id, run, { beforeTs: undefined, quota, policy });
    }
    const overSize = policy.maxBytes !== undefined && bytesBefore > policy.maxBytes;
    if (run.expired > 0 && (run.expired >= before.count * COMPACT_MIN_SHARE || overSize) && !this.stopping.signal.aborted) {
      const hook = this.deps.onCompactStep;
      const r = await pool.exclusive(id, (dir) => compactInstance(dir, hook === undefined ? undefined : (step) => hook(id, step)));
      run.compacted = true;
      run.bytesAfter = r.bytesAfter;
      this.counters.compactions++;
      this.counters.bytesReclaimed += Math.max(0, r.bytesBefore - r.bytesAfter);
    }
    return run;
  }

  /** Waits after a delete transaction that took `busyMs` (the duty cycle); a stop ends the wait. */
  private async pause(busyMs: number): Promise<void> {
    const ms = pauseAfter(busyMs, this.deps.settings.dutyPercent);
    // Even unpaced, ingest's commits for this device and others run between our transactions.
    if (ms <= 0) return void (await yieldTurn());
    await sleep(ms, undefined, { signal: this.stopping.signal }).catch((err: unknown) => {
      if ((err as { name?: unknown }).name !== 'AbortError') throw err;
    });
  }

  /** Removes readings in transactions of at most `batchReadings`, paced by {@link pause}. */
  private async expire(id: string, run: DeviceRun, o: { beforeTs: number | undefined; quota: number; policy: RetentionPolicy }): Promise<void> {
    let left = o.quota;
    while (left > 0 && !this.stopping.signal.aborted) {
      const step: ExpireStep = {
        beforeTs: o.beforeTs,
        limit: Math.min(this.deps.settings.batchReadings, left),
        syncedThrough: this.deps.sync === undefined ? null : this.deps.sync.syncedThrough(id),
        dropUnsynced: o.policy.dropUnsynced,
      };
      const began = performance.now();
      const r = await this.deps.pool.use(id, (s) => s.writeAsync((t) => expireOldest(t, step)));
      const busyMs = performance.now() - began;
      run.expired += r.removed;
      run.unsyncedDropped += r.unsyncedDropped;
      this.counters.readingsExpired += r.removed;
      this.counters.unsyncedDropped += r.unsyncedDropped;
      if (r.removed > 0) await this.deps.sync?.onExpired?.(id, r.elements);
      left -= r.removed;
      if (r.exhausted || r.removed === 0) return;
      await this.pause(busyMs);
    }
  }
}
