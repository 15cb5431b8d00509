/**
 * The outbox's in-memory view of each device's backlog: its cursor, how many readings
 * follow it, the oldest one's time, what is in flight — and the totals over all devices.
 * Derived state: recounted from the instances (see {@link Backlogs.refresh}).
 */
import { decodeElement } from '../core/telemetry/model.js';
import { readRoot } from '../core/telemetry/root.js';
import type { ReadTxn } from '../core/types.js';
import type { Cursor } from './state-store.js';

/** One device's backlog. */
export interface DeviceBacklog {
  cursor: Cursor;
  /** Readings after the cursor; undefined until counted from the instance. */
  pending: number | undefined;
  /** ts of the first element after the cursor, when known. */
  oldestTs: number | undefined;
  /** Bumped by every stored reading: tells whether a device got data during an upload. */
  gen: number;
  /** Records of this device in an export not yet settled (0: none). The drop round leaves them alone. */
  inflight: number;
  /** Set while a drop moves this device's cursor: exports wait for it. */
  dropLock: Promise<void> | undefined;
  /**
   * Unsynced elements retention removed while an export was in flight: already out of the
   * backlog, so the export's confirm must not count them passed as well. Cleared on settle.
   */
  expiredInFlight: Buffer[];
}

/** A device's backlog at `cursor`, not yet counted. */
export function newBacklog(cursor: Cursor = { element: undefined, passed: 0 }): DeviceBacklog {
  return { cursor, pending: undefined, oldestTs: undefined, gen: 0, inflight: 0, dropLock: undefined, expiredInFlight: [] };
}

/** Elements after `cursor` (exclusive) — the range bound as `exportRecords` builds it. */
export function afterBound(cursor: Buffer | undefined): { from?: Buffer } {
  return cursor === undefined ? {} : { from: Buffer.concat([cursor, Buffer.alloc(1)]) };
}

/** Every device's backlog, the dirty set and the totals. */
export class Backlogs {
  readonly devs = new Map<string, DeviceBacklog>();
  /** Devices that may have unsynced readings; insertion-ordered: the uplink serves them round-robin. */
  readonly dirty = new Set<string>();
  /** Σ pending. */
  totalPending = 0;
  /** Σ inflight: readings on their way upstream, not droppable. */
  totalInflight = 0;

  /** The device's backlog, created (uncounted) on first use. */
  dev(id: string): DeviceBacklog {
    let d = this.devs.get(id);
    if (d === undefined) {
      d = newBacklog();
      this.devs.set(id, d);
    }
    return d;
  }

  setPending(d: DeviceBacklog, pending: number | undefined): void {
    this.totalPending += (pending ?? 0) - (d.pending ?? 0);
    d.pending = pending;
  }

  setInflight(d: DeviceBacklog, n: number): void {
    this.totalInflight += n - d.inflight;
    d.inflight = n;
  }

  /**
   * Counts a device's backlog inside `txn`: the instance's reading count minus what lies
   * at or before the cursor, and never 0 while an element follows the cursor (a `passed`
   * left too high — retention's removal committed, its cursor update lost in a crash —
   * must not make a device with unsynced readings look finished).
   */
  refresh(txn: ReadTxn, d: DeviceBacklog): void {
    const root = readRoot(txn);
    if (root === null) {
      this.setPending(d, 0);
      d.oldestTs = undefined;
      return;
    }
    const first = txn.setRange(root.readings, { ...afterBound(d.cursor.element), limit: 1 })[0];
    // Nothing after the cursor: every reading is at or before it. Heals a `passed` left off
    // (persisted with the next cursor write); in place, so a drop holding this cursor keeps it.
    if (first === undefined) d.cursor.passed = root.readingCount;
    const counted = Math.max(0, root.readingCount - d.cursor.passed);
    this.setPending(d, first === undefined ? 0 : Math.max(1, counted));
    d.oldestTs = first === undefined ? undefined : decodeElement(first).ts;
  }
}
