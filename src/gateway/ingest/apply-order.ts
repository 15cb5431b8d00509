/**
 * Which waiting devices the journal's applier commits next. Every device commit whose
 * instance is not open costs an environment open (and, with the pool full, another's
 * close): ~2–3 ms of main-thread CPU, whatever the number of messages it applies. So:
 *
 * - While every device with work fits in the pool, any device may start: nothing is
 *   evicted, and the lag stays the commit time.
 * - With more devices waiting than the pool holds (a large fleet), a device starts only
 *   when its instance is open, or it has {@link ApplyOrderLimits.minGroup} messages, or
 *   its oldest message waited {@link ApplyOrderLimits.maxWaitMs}, or a read waits for it,
 *   or the backlog is past its pressure mark, or everything is being drained. Its
 *   messages meanwhile stay durable in the journal (acked) and grow its next group.
 * - Among the devices that may start: those a read waits for first, then the longest
 *   queues (most messages per open), then the oldest.
 */

/** A waiting device as the order sees it. */
export interface Waiting {
  /** Messages queued. */
  count: number;
  /** performance.now() when its oldest queued message arrived. */
  since: number;
}

/** The tuning of {@link pickDevices}. */
export interface ApplyOrderLimits {
  minGroup: number;
  maxWaitMs: number;
}

/** The state one pick looks at. */
export interface ApplyOrderState {
  waiting: ReadonlyMap<string, Waiting>;
  /** Devices that cannot start now (a commit in flight, backing off after a full disk). */
  blocked(deviceId: string): boolean;
  /** Devices a read is waiting for. */
  urgent: { has(deviceId: string): boolean };
  isOpen(deviceId: string): boolean;
  /** False: every waiting device may start (it fits the pool, pressure, or draining). */
  batching: boolean;
  now: number;
}

/** What to start, and when to look again for devices that were held back (undefined: no timer needed). */
export interface ApplyPick {
  ids: string[];
  wakeAt: number | undefined;
}

/** True when `a` should start before `b`. */
function before(a: Waiting & { urgent: boolean }, b: Waiting & { urgent: boolean }): boolean {
  if (a.urgent !== b.urgent) return a.urgent;
  if (a.count !== b.count) return a.count > b.count;
  return a.since < b.since;
}

/** Up to `slots` devices to start now, best first (one linear pass, no sort of the whole fleet). */
export function pickDevices(state: ApplyOrderState, limits: ApplyOrderLimits, slots: number): ApplyPick {
  const best: (Waiting & { id: string; urgent: boolean })[] = [];
  let wakeAt: number | undefined;
  for (const [id, w] of state.waiting) {
    if (state.blocked(id)) continue;
    const urgent = state.urgent.has(id);
    const due = w.since + limits.maxWaitMs;
    const ready = !state.batching || urgent || w.count >= limits.minGroup || due <= state.now || state.isOpen(id);
    if (!ready) {
      wakeAt = wakeAt === undefined ? due : Math.min(wakeAt, due);
      continue;
    }
    const cand = { id, count: w.count, since: w.since, urgent };
    if (best.length === slots && !before(cand, best[best.length - 1]!)) continue;
    let at = best.length;
    while (at > 0 && before(cand, best[at - 1]!)) at--;
    best.splice(at, 0, cand);
    if (best.length > slots) best.pop();
  }
  return { ids: best.map((b) => b.id), wakeAt };
}
