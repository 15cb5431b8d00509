/** Move planning: drain to the lightest live nodes; rebalance narrows the gap per policy and stops when no move helps. */
import { describe, expect, it } from 'vitest';
import { balanceCandidates, decideBalance, planBalance, planDrain, planRebalance, type LiveNodeRecord, type RangeWeight } from '../../../src/cluster/index.js';

const live = (id: string, devices: number, bytes = devices * 1000, heat = 0): LiveNodeRecord => ({
  format: 1,
  id,
  address: { host: '127.0.0.1', port: 1 },
  capacity: { devices: 1_000_000, bytes: 1e12 },
  load: { devices, bytes, writesPerSec: heat, readsPerSec: 0 },
  startedAt: 0,
  updatedAt: 0,
});
const r = (from: number, owner: string, devices: number): RangeWeight => ({ from, to: from + 255, owner, devices });

describe('planDrain', () => {
  it('spreads the node\'s ranges, heaviest first, over the lightest live nodes', () => {
    const ranges = [r(0, 'a', 10), r(256, 'a', 4), r(512, 'a', 3), r(768, 'b', 5), r(1024, 'c', 1)];
    const plan = planDrain('a', ranges, [live('a', 17), live('b', 5), live('c', 1)]);
    expect(plan.moves.map((m) => [m.from, m.target])).toEqual([[0, 'c'], [256, 'b'], [512, 'b']]);
    expect(plan.after).toEqual({ b: 12, c: 11 });
  });
});

describe('planRebalance', () => {
  it('count: moves ranges from the heaviest to the lightest node until no move narrows the gap', () => {
    const ranges = [r(0, 'a', 6), r(256, 'a', 5), r(512, 'a', 1), r(768, 'b', 2)];
    const plan = planRebalance('count', ranges, [live('a', 12), live('b', 2), live('new', 0)]);
    expect(plan.before).toEqual({ a: 12, b: 2, new: 0 });
    expect(plan.moves.map((m) => [m.from, m.source, m.target])).toEqual([[0, 'a', 'new'], [512, 'a', 'b']]);
    expect(plan.after).toEqual({ a: 5, b: 3, new: 6 });
    // Balanced enough: nothing more to do.
    expect(planRebalance('count', [r(0, 'a', 3), r(256, 'b', 2)], [live('a', 3), live('b', 2)]).moves).toEqual([]);
  });

  it('bytes and heat weigh devices by their owner\'s bytes and rate per device; dead owners are left alone', () => {
    const ranges = [r(0, 'a', 2), r(256, 'a', 2), r(512, 'b', 4), r(768, 'dead', 50)];
    const nodes = [live('a', 4, 4000, 400), live('b', 4, 400, 4)];
    expect(planRebalance('count', ranges, nodes).moves).toEqual([]);
    expect(planRebalance('bytes', ranges, nodes).moves.map((m) => [m.from, m.target])).toEqual([[0, 'b']]);
    expect(planRebalance('heat', ranges, nodes).moves.map((m) => [m.from, m.target])).toEqual([[0, 'b']]);
    expect(planRebalance('bytes', ranges, nodes).before).toEqual({ a: 4000, b: 400 });
  });
});

describe('balancer candidates and hysteresis', () => {
  const joined = (id: string): LiveNodeRecord => ({ ...live(id, 0), candidate: true });

  it('candidates: live owners and nodes started with --join; an empty node without --join receives nothing', () => {
    const ranges = [r(0, 'a', 4), r(256, 'b', 4), r(512, 'gone', 2)];
    expect(balanceCandidates(ranges, [live('a', 4), live('b', 4), joined('c'), live('idle', 0)]).map((n) => n.id)).toEqual(['a', 'b', 'c']);
    const d = decideBalance('count', ranges, [live('a', 4), live('b', 4), live('idle', 0)]);
    expect(d.kind).toBe('balanced');
  });

  it('moves one range onto a joined node, then stops once the gap is within one range', () => {
    const ranges = [r(0, 'a', 2), r(256, 'a', 2), r(512, 'b', 2), r(768, 'b', 2)];
    const first = decideBalance('count', ranges, [live('a', 4), live('b', 4), joined('c')]);
    expect(first).toEqual({ kind: 'move', gap: 4, move: { from: 0, to: 255, source: 'a', target: 'c', weight: 2 } });
    // After it: a 2, b 4, c 2 — moving a 2-device range from b would only swap b and c.
    const after = [r(0, 'c', 2), r(256, 'a', 2), r(512, 'b', 2), r(768, 'b', 2)];
    expect(decideBalance('count', after, [live('a', 2), live('b', 4), joined('c')])).toEqual({ kind: 'balanced', gap: 2 });
  });

  it('heat: a gap within a tenth of the mean load starts nothing, even where one range would narrow it', () => {
    const ranges = [...Array.from({ length: 20 }, (_, i) => r(i * 256, 'a', 1)), ...Array.from({ length: 20 }, (_, i) => r((20 + i) * 256, 'b', 1))];
    // a: 20 devices, 210/s (10.5 per range); b: 20 devices, 190/s. Gap 20 > 10.5, but ≤ 10 % of the mean 200.
    expect(decideBalance('heat', ranges, [live('a', 20, 0, 210), live('b', 20, 0, 190)])).toEqual({ kind: 'balanced', gap: 20 });
    // a at 230/s: gap 40 > 10 % of 210, so one range moves.
    const d = decideBalance('heat', ranges, [live('a', 20, 0, 230), live('b', 20, 0, 190)]);
    expect(d.kind === 'move' ? [d.move.source, d.move.target] : d).toEqual(['a', 'b']);
  });
});

describe('heat: per-device heat and the split of a range too hot to move whole', () => {
  const joined = (id: string): LiveNodeRecord => ({ ...live(id, 0), candidate: true });
  /** A range with devices at these partitions and heats. */
  const hot = (from: number, to: number, owner: string, devices: [number, number][]): RangeWeight => ({ from, to, owner, devices: devices.length, perDevice: devices.map(([partition, heat]) => ({ partition, heat })) });

  it('weighs a range by its devices\' listed heat, not by the owner\'s figure spread evenly', () => {
    const ranges = [hot(0, 255, 'a', [[1, 20], [2, 20]]), hot(256, 511, 'a', [[300, 1], [301, 1]]), hot(512, 767, 'a', [[600, 50], [601, 10]])];
    const plan = planRebalance('heat', ranges, [live('a', 6, 0, 102), joined('b')], 1);
    expect(plan.before).toEqual({ a: 102, b: 0 });
    // Spread evenly every range would weigh 34 (and the first would go); listed, the one closest to half the gap is the 60/s one.
    expect(plan.moves).toEqual([{ from: 512, to: 767, source: 'a', target: 'b', weight: 60 }]);
  });

  it('splits the one range carrying the node\'s heat at a device partition and moves the half closest to half the gap', () => {
    // a owns one range: 4 devices of 25/s at partitions 10, 20, 30, 40. Gap 100: the whole range would overshoot.
    const ranges = [hot(0, 1023, 'a', [[10, 25], [20, 25], [30, 25], [40, 25]])];
    const d = decideBalance('heat', ranges, [live('a', 4, 0, 100), joined('b')]);
    expect(d).toEqual({ kind: 'split', gap: 100, split: { from: 0, to: 1023, at: 30 }, move: { from: 30, to: 1023, source: 'a', target: 'b', weight: 50 } });
    // Skewed heat: the lower half moves when it is the one closest to half the gap (and below the gap).
    // b carries 20/s, so the gap is 80 and the lower half (40/s) is exactly half of it.
    const skewed = [hot(0, 1023, 'a', [[10, 40], [500, 5], [900, 55]]), hot(2048, 3071, 'b', [[2100, 20]])];
    const s = decideBalance('heat', skewed, [live('a', 3, 0, 100), { ...joined('b'), load: { devices: 1, bytes: 0, writesPerSec: 20, readsPerSec: 0 } }]);
    expect(s.kind === 'split' ? [s.split.at, s.move.from, s.move.to, s.move.weight] : s).toEqual([500, 0, 499, 40]);
  });

  it('cools a hot spot by splitting it, not by moving the node\'s cold ranges; a range below half the gap moves whole', () => {
    const ranges = [hot(0, 1023, 'a', [[10, 45], [600, 45]]), hot(1024, 2047, 'a', [[1100, 5]]), hot(2048, 3071, 'a', [[2100, 5]])];
    const d = decideBalance('heat', ranges, [live('a', 4, 0, 100), joined('b')]);
    expect(d.kind === 'split' ? [d.split.at, d.move.weight, d.move.target] : d).toEqual([600, 45, 'b']);
    // No range above half the gap: the plan's whole-range move, as before.
    const even = [hot(0, 1023, 'a', [[10, 30], [600, 10]]), hot(1024, 2047, 'a', [[1100, 30]]), hot(2048, 3071, 'a', [[2100, 30]])];
    expect(decideBalance('heat', even, [live('a', 4, 0, 100), joined('b')]).kind).toBe('move');
  });

  it('cluster rebalance plans the balancer\'s split first, moves that half, then plans the rest over the halves', () => {
    const ranges = [hot(0, 1023, 'a', [[10, 45], [600, 45]]), hot(1024, 2047, 'a', [[1100, 5]]), hot(2048, 3071, 'a', [[2100, 5]])];
    const nodes = [live('a', 4, 0, 100), joined('b'), joined('c')];
    const d = decideBalance('heat', ranges, nodes);
    if (d.kind !== 'split') throw new Error(`the balancer decides ${d.kind}, not split`);
    const plan = planBalance('heat', ranges, nodes);
    // The same decision as the balancer's round: split 0-1023 at 600, its upper half to the coolest candidate.
    expect(plan.splits).toEqual([d.split]);
    expect(plan.moves[0]).toEqual(d.move);
    expect(plan.splits).toEqual([{ from: 0, to: 1023, at: 600 }]);
    // Then the lower half goes to the other candidate; the moved half stays where it went.
    expect(plan.moves).toEqual([
      { from: 600, to: 1023, source: 'a', target: 'c', weight: 45 },
      { from: 0, to: 599, source: 'a', target: 'b', weight: 45 },
    ]);
    expect(plan.before).toEqual({ a: 100, b: 0, c: 0 });
    expect(plan.after).toEqual({ a: 10, b: 45, c: 45 });
    // Whole ranges only where no range is too hot to move whole, and under count.
    const even = [hot(0, 1023, 'a', [[10, 30], [600, 10]]), hot(1024, 2047, 'a', [[1100, 30]]), hot(2048, 3071, 'a', [[2100, 30]])];
    expect(planBalance('heat', even, [live('a', 4, 0, 100), joined('b')])).toEqual(planRebalance('heat', even, [live('a', 4, 0, 100), joined('b')]));
    expect(planBalance('count', ranges, nodes)).toEqual({ ...planRebalance('count', ranges, nodes), splits: [] });
    expect(planBalance('heat', even, [live('a', 4, 0, 100), joined('b')]).splits).toEqual([]);
  });

  it('does not split without per-device heat, with every device in one partition, or under count', () => {
    const nodes = [live('a', 4, 0, 100), joined('b')];
    expect(decideBalance('heat', [r(0, 'a', 4)], nodes).kind).toBe('balanced');
    expect(decideBalance('heat', [hot(0, 1023, 'a', [[7, 50], [7, 50]])], nodes).kind).toBe('balanced');
    expect(decideBalance('count', [hot(0, 1023, 'a', [[10, 50], [20, 50]])], nodes).kind).toBe('balanced');
  });
});
