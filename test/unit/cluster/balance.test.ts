/** Move planning: drain to the lightest live nodes; rebalance narrows the gap per policy and stops when no move helps. */
import { describe, expect, it } from 'vitest';
import { planDrain, planRebalance, type LiveNodeRecord, type RangeWeight } from '../../../src/cluster/index.js';

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
