import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../firmware-sim/link.js';
import { createRng } from '../../../firmware-sim/rng.js';
import { createSchedule, expectedSlots } from '../../../firmware-sim/schedule.js';

describe('rate schedule', () => {
  it('hands out exactly rate × t slots (± one per device) and never goes back in time', () => {
    const s = createSchedule({ devices: 7, totalRate: 350, rng: createRng(1) });
    expect(s.periodMs).toBeCloseTo(20, 9);
    let last = -1;
    let n = 0;
    for (let t = 0; t <= 2000; t += 13) {
      for (const slot of s.take(t)) {
        expect(slot.atMs).toBeGreaterThanOrEqual(last);
        expect(slot.atMs).toBeLessThanOrEqual(t);
        last = slot.atMs;
        n++;
      }
      expect(n).toBe(expectedSlots(s.phases, s.periodMs, t));
    }
    expect(Math.abs(n - 350 * 2)).toBeLessThanOrEqual(7);
  });

  it('gives every device the same share, one slot per period each', () => {
    const s = createSchedule({ devices: 10, totalRate: 100, rng: createRng(2) });
    const per = new Map<number, number[]>();
    for (const slot of s.take(10_000)) per.set(slot.device, [...(per.get(slot.device) ?? []), slot.atMs]);
    expect(per.size).toBe(10);
    for (const times of per.values()) {
      expect(times.length).toBeGreaterThanOrEqual(99);
      expect(times.length).toBeLessThanOrEqual(101);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(100, 6);
    }
  });

  it('spread 0 fires the whole fleet at once each period; phases stay within the spread', () => {
    const herd = createSchedule({ devices: 50, totalRate: 50, spreadMs: 0, rng: createRng(3) });
    expect(herd.take(0)).toHaveLength(50);
    expect(herd.take(999)).toHaveLength(0);
    const spread = createSchedule({ devices: 50, totalRate: 50, spreadMs: 200, rng: createRng(3) });
    expect(Math.max(...spread.phases)).toBeLessThan(200);
    expect(spread.take(200)).toHaveLength(50);
  });

  it('take respects its max and resumes where it stopped', () => {
    const s = createSchedule({ devices: 3, totalRate: 3000, rng: createRng(4) });
    expect(s.take(100, 10)).toHaveLength(10);
    expect(s.issued).toBe(10);
    expect(s.take(100).length + 10).toBe(expectedSlots(s.phases, s.periodMs, 100));
  });

  it('refuses a non-positive rate or empty fleet', () => {
    expect(() => createSchedule({ devices: 0, totalRate: 1, rng: createRng(1) })).toThrow(RangeError);
    expect(() => createSchedule({ devices: 1, totalRate: 0, rng: createRng(1) })).toThrow(RangeError);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the minimum up to the cap, with 50–100 % jitter', () => {
    expect(backoffDelay(0, 100, 10_000, 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, 1)).toBe(800);
    expect(backoffDelay(3, 100, 10_000, 0)).toBe(400);
    expect(backoffDelay(20, 100, 10_000, 1)).toBe(10_000);
    expect(backoffDelay(1000, 100, 10_000, 0.5)).toBe(7500);
  });
});
