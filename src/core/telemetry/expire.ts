/**
 * Retention's delete step: removes the oldest readings of a device instance, a bounded
 * number per write transaction, keeping every structure of docs/telemetry-model.md
 * consistent — the `readings` element, the reading object (every member and name), its
 * identity in `ids` (only when it still points at this reading) and the root's
 * `reading_count`. `first_seen`, `last_seen`, `latest` and `meta` are kept: they
 * describe the device, not the readings that remain.
 */
import type { WriteTxn } from '../types.js';
import { decodeElement, ID_MEMBER, tsPrefix } from './model.js';
import { readRoot, updateRootStats } from './root.js';

/** What one expiry transaction may remove. */
export interface ExpireStep {
  /** Remove only readings with ts < this (ms); undefined = no age bound. */
  beforeTs?: number | undefined;
  /** Most readings this transaction removes (the caller's per-transaction bound and any count quota). */
  limit: number;
  /**
   * The last element synced upstream (the outbox cursor), `null` when sync is off (every
   * reading counts as synced), undefined when nothing has been synced yet.
   */
  syncedThrough: Buffer | null | undefined;
  /** Also remove readings after `syncedThrough` (counted in `unsyncedDropped`). */
  dropUnsynced: boolean;
}

/** What one expiry transaction did. */
export interface ExpireOutcome {
  removed: number;
  /** Of `removed`, readings that had not been synced upstream. */
  unsyncedDropped: number;
  /** True when nothing more can be removed under this step's bounds (besides `limit`). */
  exhausted: boolean;
  /** The removed `readings` elements, oldest first (the outbox moves its counts by them). */
  elements: Buffer[];
}

function isUnsynced(element: Buffer, syncedThrough: Buffer | null | undefined): boolean {
  if (syncedThrough === null) return false;
  return syncedThrough === undefined || Buffer.compare(element, syncedThrough) > 0;
}

/** Removes up to `step.limit` of the oldest readings allowed by `step`, in the caller's write transaction. */
export function expireOldest(txn: WriteTxn, step: ExpireStep): ExpireOutcome {
  const root = readRoot(txn);
  if (root === null || step.limit < 1) return { removed: 0, unsyncedDropped: 0, exhausted: true, elements: [] };
  const range = step.beforeTs === undefined ? {} : { to: tsPrefix(step.beforeTs) };
  // One more than the limit tells "stopped at the limit" from "nothing left".
  const candidates = txn.setRange(root.readings, { ...range, limit: step.limit + 1 });
  let removed = 0;
  let unsyncedDropped = 0;
  let blocked = false;
  const elements: Buffer[] = [];
  for (const element of candidates.slice(0, step.limit)) {
    const unsynced = isUnsynced(element, step.syncedThrough);
    if (unsynced && !step.dropUnsynced) {
      // Elements are in time order: everything after this one is unsynced too.
      blocked = true;
      break;
    }
    removeReading(txn, root.readings, root.ids, element);
    elements.push(Buffer.from(element));
    removed++;
    if (unsynced) unsyncedDropped++;
  }
  if (removed > 0) {
    updateRootStats(txn, root, {
      firstSeen: root.firstSeen,
      lastSeen: root.lastSeen,
      readingCount: Math.max(0, root.readingCount - removed),
    });
  }
  return { removed, unsyncedDropped, exhausted: blocked || candidates.length <= step.limit, elements };
}

/** Deletes one reading: identity (if it maps to this reading), object, element. */
function removeReading(txn: WriteTxn, readings: Buffer, ids: Buffer, element: Buffer): void {
  const { ptr } = decodeElement(element);
  if (txn.exists(ptr)) {
    const id = txn.memberValue(ptr, ID_MEMBER);
    // `$id` is CBOR bytes(16): 0x50 ‖ identity.
    if (id !== undefined && id.length === 17 && id[0] === 0x50) {
      const identity = Buffer.from(id.subarray(1));
      const target = txn.memberValue(ids, identity);
      if (target !== undefined && Buffer.compare(target, ptr) === 0) txn.memberDel(ids, identity);
    }
    txn.objDel(ptr);
  }
  txn.setRemove(readings, element);
}

