/** Move planning: drain to the lightest live nodes; rebalance narrows the gap per policy and stops when no move helps. */
import { describe, expect, it } from 'vitest';
import { balanceCandidates, decideBalance, planDrain, planRebalance, type LiveNodeRecord, type RangeWeight } from '../../../src/cluster/index.js';

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
