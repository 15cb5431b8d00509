/**
 * Where an unowned range goes: the least-loaded live data node. Load is the node's fill
 * ratio (devices and bytes against its capacity, in whole percent so noise in the
 * figures does not decide), then the number of ranges it already owns (so a fresh
 * cluster, where every node reports zero, spreads ranges round-robin), then its write
 * rate, then its id (deterministic).
 */
import type { LiveNodeRecord } from './records.js';

/** The fill ratio of a node in whole percent (the larger of devices and bytes). */
export function fillPercent(n: LiveNodeRecord): number {
  return Math.floor(100 * Math.max(n.load.devices / n.capacity.devices, n.load.bytes / n.capacity.bytes));
}

/** The least-loaded of `live`, or undefined when `live` is empty. */
export function pickLeastLoaded(live: readonly LiveNodeRecord[], rangesPerOwner: ReadonlyMap<string, number>): LiveNodeRecord | undefined {
  let best: LiveNodeRecord | undefined;
  let bestKey: [number, number, number, string] | undefined;
  for (const n of live) {
    const key: [number, number, number, string] = [fillPercent(n), rangesPerOwner.get(n.id) ?? 0, n.load.writesPerSec, n.id];
    if (bestKey === undefined || less(key, bestKey)) {
      best = n;
      bestKey = key;
    }
  }
  return best;
}

function less(a: [number, number, number, string], b: [number, number, number, string]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number);
  return a[3] < b[3];
}
