/**
 * Rate limiting math. With a total rate R over N devices, each device publishes every
 * P = N / R seconds, at its own phase within the period (start jitter). Slot j belongs
 * to device order[j mod N] at time phase[j mod N] + floor(j / N) · P, which grows with j
 * because phases are sorted and all lie within one period. So one cursor walks the
 * whole fleet's timeline in O(1) per message, whatever the fleet size (no timer per device).
 */
import type { Rng } from './rng.js';

/** One scheduled slot: which device, and when (ms since the run started). */
export interface Slot {
  device: number;
  atMs: number;
}

/** The fleet's publication timeline. */
export interface Schedule {
  /** Milliseconds between two publications of one device. */
  readonly periodMs: number;
  /** Slots handed out so far. */
  readonly issued: number;
  /** Time of the next slot (ms since start). */
  nextAtMs(): number;
  /** Every slot due at or before `elapsedMs`, at most `max` of them, in time order. */
  take(elapsedMs: number, max?: number): Slot[];
}

/** Options of {@link createSchedule}. */
export interface ScheduleOptions {
  devices: number;
  /** Total publications per second over the fleet (> 0). */
  totalRate: number;
  /**
   * Devices start at a random phase within the first `spreadMs` ms (clamped to one
   * period). 0 = every device fires at the same instant each period (thundering herd);
   * undefined = spread over the whole period (smoothest total rate).
   */
  spreadMs?: number;
  rng: Rng;
}

/** The number of slots with time ≤ t for phases `phases` and period P: Σ max(0, ⌊(t − φ)/P⌋ + 1). */
export function expectedSlots(phases: readonly number[], periodMs: number, tMs: number): number {
  let n = 0;
  for (const p of phases) if (tMs >= p) n += Math.floor((tMs - p) / periodMs) + 1;
  return n;
}

/** Builds the timeline; devices get a random phase each, sorted so slot times never go back. */
export function createSchedule(opts: ScheduleOptions): Schedule & { readonly phases: readonly number[]; readonly order: readonly number[] } {
  const { devices, totalRate } = opts;
  if (!(devices >= 1) || !(totalRate > 0)) throw new RangeError('schedule needs devices >= 1 and a positive rate');
  const periodMs = (devices * 1000) / totalRate;
  const spread = Math.min(periodMs, Math.max(0, opts.spreadMs ?? periodMs));
  const pairs = Array.from({ length: devices }, (_, d) => ({ d, phase: spread === 0 ? 0 : opts.rng.uniform(0, spread) }));
  pairs.sort((a, b) => a.phase - b.phase || a.d - b.d);
  const order = pairs.map((p) => p.d);
  const phases = pairs.map((p) => p.phase);
  let j = 0;
  const timeOf = (k: number): number => phases[k % devices]! + Math.floor(k / devices) * periodMs;
  return {
    periodMs,
    phases,
    order,
    get issued() {
      return j;
    },
    nextAtMs: () => timeOf(j),
    take(elapsedMs: number, max = Number.POSITIVE_INFINITY): Slot[] {
      const out: Slot[] = [];
      while (out.length < max && timeOf(j) <= elapsedMs) {
        out.push({ device: order[j % devices]!, atMs: timeOf(j) });
        j++;
      }
      return out;
    },
  };
}
