/**
 * What a sensor profile is: a function from a device's state to one reading document
 * (a plain JSON-compatible object), encoded later as JSON or CBOR.
 */
import type { Rng } from '../rng.js';

/** The per-device state a profile sees. Mutable `walks` lets profiles keep smooth signals. */
export interface DeviceContext {
  /** Device id as used in the topic. */
  readonly id: string;
  /** Position of the device in the fleet (0-based). */
  readonly index: number;
  /** The device's own random source (forked from the run seed). */
  readonly rng: Rng;
  /** Per-device values that evolve between readings (random walks, counters). */
  readonly walks: Map<string, number>;
}

/** Identity fields every reading carries. */
export interface ReadingStamp {
  /** Monotonic per boot, starts at 0 after every (simulated) reboot. */
  seq: number;
  /** Boot counter: increments on every reboot. */
  boot: number;
  /** The device's clock in Unix ms (wall clock plus the device's skew). */
  ts: number;
}

/** A sensor profile. */
export interface Profile {
  /** `env`, `power`, `gps` or `template:<file>`. */
  readonly name: string;
  /** One reading document. Must contain top-level `seq` and `boot` (verify relies on them). */
  reading(dev: DeviceContext, stamp: ReadingStamp): Record<string, unknown>;
  /** How many readings the device sends in this slot: 1, or more for a burst (GPS). */
  burst?(dev: DeviceContext): number;
}

/**
 * A bounded random walk stored in `dev.walks` under `key`: starts uniformly in
 * [min, max], moves at most `step` per reading, reflects at the bounds.
 */
export function walk(dev: DeviceContext, key: string, min: number, max: number, step: number): number {
  const prev = dev.walks.get(key);
  let v = prev === undefined ? dev.rng.uniform(min, max) : prev + dev.rng.uniform(-step, step);
  if (v > max) v = max - (v - max);
  if (v < min) v = min + (min - v);
  v = Math.min(max, Math.max(min, v));
  dev.walks.set(key, v);
  return v;
}
