/**
 * Planning moves (docs/cluster.md, Drain and rebalance): which ranges go where so that a
 * node empties (`drain`) or the live nodes even out (`rebalance`). Pure functions over
 * the live records and the ranges' device counts; the moves themselves are requested
 * and run as any other move.
 *
 * Weights per policy, per range: `count` its devices; `bytes` its devices times its
 * owner's bytes per device; `heat` the sum of its devices' (writes + reads)/s as their
 * owner lists them (a node that does not list them: its devices times its own figure
 * per device). Bytes are reported per node only, so `bytes` spreads a node's figure
 * evenly over its devices. Under `heat` a range too hot to move whole is split first
 * ({@link planHeatSplit}); `cluster rebalance` plans that split too ({@link planBalance}).
 */
import type { LiveNodeRecord } from './records.js';

/** A balancing policy. */
export type BalancePolicy = 'count' | 'bytes' | 'heat';

/** An owned range with the number of devices its owner holds in it. */
export interface RangeWeight {
  from: number;
  to: number;
  owner: string;
  devices: number;
  /** Each device's partition and heat ((writes + reads)/s), when the owner lists them. */
  perDevice?: { partition: number; heat: number }[];
}

/** One move of a plan. */
export interface PlannedMove {
  from: number;
  to: number;
  source: string;
  target: string;
  /** The range's weight under the plan's policy. */
  weight: number;
}

/** A split of a plan: the range `from..to` becomes `from..at-1` and `at..to` (splitRange), before the plan's moves. */
export interface PlannedSplit {
  from: number;
  to: number;
  at: number;
}

/** A plan and each live node's load before and after it. */
export interface BalancePlan {
  policy: BalancePolicy;
  /** Splits to make before the moves (under `heat` only: the balancer's split, see {@link planBalance}). */
  splits: PlannedSplit[];
  moves: PlannedMove[];
  before: Record<string, number>;
  after: Record<string, number>;
}

function perDevice(policy: BalancePolicy, node: LiveNodeRecord | undefined): number {
  if (policy === 'count' || node === undefined || node.load.devices === 0) return 1;
  return policy === 'bytes' ? node.load.bytes / node.load.devices : (node.load.writesPerSec + node.load.readsPerSec) / node.load.devices;
}

function weigh(policy: BalancePolicy, ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[]): { weighted: (RangeWeight & { weight: number })[]; load: Map<string, number> } {
  const byId = new Map(live.map((n) => [n.id, n]));
  const load = new Map(live.map((n) => [n.id, 0]));
  const weight = (r: RangeWeight): number => (policy === 'heat' && r.perDevice !== undefined ? r.perDevice.reduce((a, d) => a + d.heat, 0) : r.devices * perDevice(policy, byId.get(r.owner)));
  const weighted = ranges.filter((r) => byId.has(r.owner)).map((r) => ({ ...r, weight: weight(r) }));
  for (const r of weighted) load.set(r.owner, (load.get(r.owner) ?? 0) + r.weight);
  return { weighted, load };
}

const round = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Math.round(v * 100) / 100]));

function lightest(load: ReadonlyMap<string, number>, except: string): string | undefined {
  let best: [string, number] | undefined;
  for (const [id, l] of load) if (id !== except && (best === undefined || l < best[1] || (l === best[1] && id < best[0]))) best = [id, l];
  return best?.[0];
}

/** Every range of `node` to the live node with the least load at that point (heaviest range first). */
export function planDrain(node: string, ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[], policy: BalancePolicy = 'count'): BalancePlan {
  const { weighted, load } = weigh(policy, ranges, live);
  const before = round(load);
  const moves: PlannedMove[] = [];
  const own = ranges.filter((r) => r.owner === node).map((r) => weighted.find((w) => w.from === r.from) ?? { ...r, weight: r.devices });
  for (const r of own.sort((a, b) => b.weight - a.weight || a.from - b.from)) {
    const target = lightest(load, node);
    if (target === undefined) break;
    moves.push({ from: r.from, to: r.to, source: node, target, weight: r.weight });
    load.set(target, (load.get(target) ?? 0) + r.weight);
    if (load.has(node)) load.set(node, (load.get(node) ?? 0) - r.weight);
  }
  load.delete(node);
  return { policy, splits: [], moves, before, after: round(load) };
}

/**
 * Greedy: while moving one range from the heaviest to the lightest live node narrows
 * the gap between them, move the range whose weight is closest to half the gap. At most
 * `maxMoves` moves; ranges of nodes that are not live are left alone (they cannot be
 * copied from), and so are the ranges starting at a partition in `fixed`.
 */
export function planRebalance(policy: BalancePolicy, ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[], maxMoves = 64, fixed: ReadonlySet<number> = new Set()): BalancePlan {
  const { weighted, load } = weigh(policy, ranges, live);
  const before = round(load);
  const moves: PlannedMove[] = [];
  const moved = new Set<number>(fixed);
  while (moves.length < maxMoves && load.size >= 2) {
    const sorted = [...load].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const [hi, hiLoad] = sorted[0] as [string, number];
    const [lo, loLoad] = sorted[sorted.length - 1] as [string, number];
    const gap = hiLoad - loLoad;
    const candidates = weighted.filter((r) => r.owner === hi && !moved.has(r.from) && r.weight > 0 && r.weight < gap);
    if (candidates.length === 0) break;
    const pick = candidates.sort((a, b) => Math.abs(gap / 2 - a.weight) - Math.abs(gap / 2 - b.weight) || a.from - b.from)[0] as (typeof candidates)[0];
    moves.push({ from: pick.from, to: pick.to, source: hi, target: lo, weight: pick.weight });
    moved.add(pick.from);
    load.set(hi, hiLoad - pick.weight);
    load.set(lo, loLoad + pick.weight);
  }
  return { policy, splits: [], moves, before, after: round(load) };
}

/** The two halves of `r` split at `at`, each with its own devices. */
function halvesOf(r: RangeWeight, at: number): [RangeWeight, RangeWeight] {
  const lower = r.perDevice?.filter((d) => d.partition < at) ?? [];
  const upper = r.perDevice?.filter((d) => d.partition >= at) ?? [];
  return [
    { from: r.from, to: at - 1, owner: r.owner, devices: lower.length, perDevice: lower },
    { from: at, to: r.to, owner: r.owner, devices: upper.length, perDevice: upper },
  ];
}

/**
 * The plan of `cluster rebalance`: {@link planRebalance}, except that under `heat` it
 * first makes the split the balancer's round would make ({@link decideBalance}: a range
 * too hot to move whole, split at a device partition) and moves that half, then plans
 * the other moves over the halves (the moved half stays where it went).
 */
export function planBalance(policy: BalancePolicy, ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[], maxMoves = 64): BalancePlan {
  const first = policy === 'heat' ? decideBalance(policy, ranges, live) : undefined;
  const hot = first?.kind === 'split' ? ranges.find((r) => r.from === first.split.from) : undefined;
  if (first?.kind !== 'split' || hot === undefined || maxMoves < 1) return planRebalance(policy, ranges, live, maxMoves);
  const { split, move } = first;
  const after = ranges.flatMap((r) => (r === hot ? halvesOf(hot, split.at) : [r])).map((r) => (r.from === move.from ? { ...r, owner: move.target } : r));
  const rest = planRebalance(policy, after, live, maxMoves - 1, new Set([move.from]));
  return { policy, splits: [split], moves: [move, ...rest.moves], before: planRebalance(policy, ranges, live, 0).before, after: rest.after };
}

/**
 * The nodes a rebalance evens out: every live node that owns a range, and every live
 * node started with `--join` (`candidate`). A live node that owns nothing and did not
 * join (started for maintenance, or drained) receives nothing.
 */
export function balanceCandidates(ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[]): LiveNodeRecord[] {
  const owners = new Set(ranges.map((r) => r.owner));
  return live.filter((n) => n.candidate === true || owners.has(n.id));
}

/** Share of the mean load the gap must exceed before the balancer moves anything. */
export const BALANCE_MIN_GAP_SHARE = 0.1;

/** What one balancer round decides: a move, a split of a range followed by the move of one half, or nothing. */
export type BalanceDecision =
  | { kind: 'move'; move: PlannedMove; gap: number }
  | { kind: 'split'; split: PlannedSplit; move: PlannedMove; gap: number }
  | { kind: 'balanced'; gap: number };

/**
 * One round of the balancer (hysteresis): the first move of the rebalance plan over the
 * candidates, only when the gap between the heaviest and the lightest candidate exceeds
 * both that range's weight (so the move narrows the gap and never reverses it: the
 * source stays at least as heavy as the target) and {@link BALANCE_MIN_GAP_SHARE} of the
 * mean load (so noise in `bytes` and `heat` figures starts nothing).
 */
export function decideBalance(policy: BalancePolicy, ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[]): BalanceDecision {
  const candidates = balanceCandidates(ranges, live);
  const plan = planRebalance(policy, ranges, candidates, 1);
  const loads = Object.values(plan.before);
  const gap = loads.length < 2 ? 0 : Math.max(...loads) - Math.min(...loads);
  const mean = loads.length === 0 ? 0 : loads.reduce((a, b) => a + b, 0) / loads.length;
  const move = plan.moves[0];
  if (gap <= BALANCE_MIN_GAP_SHARE * mean) return { kind: 'balanced', gap };
  // A hot spot is cooled by splitting it, not by moving the node's cold ranges away from it.
  const split = policy === 'heat' ? planHeatSplit(ranges, candidates, gap) : undefined;
  if (split !== undefined) return { kind: 'split', ...split, gap };
  if (move !== undefined && gap > move.weight) return { kind: 'move', move, gap };
  return { kind: 'balanced', gap };
}

/**
 * Under `heat`: when one range carries most of the hottest candidate's heat and moving
 * it whole would overshoot (the target would end hotter than the source: its heat is
 * above half the gap), it is split at one of its devices' partitions, and the half whose
 * heat is closest to half the gap moves to the coolest candidate — only when that half
 * is closer to half the gap than the whole range (and below the gap, so the move never
 * reverses it). Needs the owner's per-device heat and devices in two partitions;
 * undefined otherwise.
 */
export function planHeatSplit(ranges: readonly RangeWeight[], live: readonly LiveNodeRecord[], gap: number): { split: PlannedSplit; move: PlannedMove } | undefined {
  const { weighted, load } = weigh('heat', ranges, live);
  const sorted = [...load].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const hi = sorted[0]?.[0];
  const lo = sorted[sorted.length - 1]?.[0];
  if (hi === undefined || lo === undefined || hi === lo) return undefined;
  const hiLoad = load.get(hi) ?? 0;
  const hot = weighted.filter((r) => r.owner === hi && r.perDevice !== undefined).sort((a, b) => b.weight - a.weight || a.from - b.from)[0];
  if (hot?.perDevice === undefined || hot.weight <= hiLoad / 2 || hot.weight <= gap / 2) return undefined;
  const points = [...new Set(hot.perDevice.map((d) => d.partition))].filter((p) => p > hot.from && p <= hot.to).sort((a, b) => a - b);
  let best: { at: number; upper: boolean; weight: number } | undefined;
  for (const at of points) {
    const upperHeat = hot.perDevice.filter((d) => d.partition >= at).reduce((a, d) => a + d.heat, 0);
    for (const [upper, w] of [[true, upperHeat], [false, hot.weight - upperHeat]] as const) {
      if (w <= 0 || w >= gap) continue;
      if (best === undefined || Math.abs(gap / 2 - w) < Math.abs(gap / 2 - best.weight)) best = { at, upper, weight: w };
    }
  }
  if (best === undefined || Math.abs(gap / 2 - best.weight) >= Math.abs(gap / 2 - hot.weight)) return undefined;
  const half = best.upper ? { from: best.at, to: hot.to } : { from: hot.from, to: best.at - 1 };
  return { split: { from: hot.from, to: hot.to, at: best.at }, move: { ...half, source: hi, target: lo, weight: best.weight } };
}
