/**
 * Aggregate states: updated row by row while scanning (constant memory per group),
 * mergeable across devices, data nodes or routers (avg = Σsum / Σcount, first/last by
 * (ts, device)), and finalized into values. States are plain JSON, so a partial
 * result can cross HTTP unchanged.
 */
import type { AggFn } from './ast.js';
import type { SqlValue } from './types.js';
import { compareValues, tupleKey } from './values.js';

/** The running state of one aggregate in one group. */
export type AggState =
  | { fn: 'count'; n: number }
  | { fn: 'sum' | 'avg'; n: number; sum: number }
  | { fn: 'min' | 'max'; v: SqlValue }
  | { fn: 'first' | 'last'; ts: number | null; dev: string; v: SqlValue };

/** A fresh state. */
export function newState(fn: AggFn): AggState {
  switch (fn) {
    case 'count':
      return { fn, n: 0 };
    case 'sum':
    case 'avg':
      return { fn, n: 0, sum: 0 };
    case 'min':
    case 'max':
      return { fn, v: null };
    default:
      return { fn, ts: null, dev: '', v: null };
  }
}

/** True when (ts, dev) comes before (ts2, dev2). */
function before(ts: number, dev: string, ts2: number, dev2: string): boolean {
  return ts < ts2 || (ts === ts2 && dev < dev2);
}

/**
 * Adds one row's value. NULLs are skipped by every aggregate (count(*) passes `true`).
 * `ts`/`dev` order first/last: rows of one device arrive in time order, so on a tie
 * first keeps the earlier row and last takes the later one.
 */
export function step(s: AggState, v: SqlValue, ts: number, dev: string): void {
  if (v === null) return;
  switch (s.fn) {
    case 'count':
      s.n++;
      return;
    case 'sum':
    case 'avg': {
      const n = Number(v);
      if (Number.isNaN(n)) return;
      s.n++;
      s.sum += n;
      return;
    }
    case 'min':
      if (s.v === null || compareValues(v, s.v) < 0) s.v = v;
      return;
    case 'max':
      if (s.v === null || compareValues(v, s.v) > 0) s.v = v;
      return;
    case 'first':
      if (s.ts === null || before(ts, dev, s.ts, s.dev)) Object.assign(s, { ts, dev, v });
      return;
    case 'last':
      if (s.ts === null || !before(ts, dev, s.ts, s.dev)) Object.assign(s, { ts, dev, v });
      return;
  }
}

/** Merges `b` into `a` (same function); returns `a`. */
export function mergeState(a: AggState, b: AggState): AggState {
  if (a.fn !== b.fn) throw new Error(`cannot merge ${a.fn} with ${b.fn}`);
  if (a.fn === 'count' && b.fn === 'count') a.n += b.n;
  else if ((a.fn === 'sum' || a.fn === 'avg') && (b.fn === 'sum' || b.fn === 'avg')) {
    a.n += b.n;
    a.sum += b.sum;
  } else if ((a.fn === 'min' || a.fn === 'max') && (b.fn === 'min' || b.fn === 'max')) {
    if (b.v !== null) step(a, b.v, 0, '');
  } else if ((a.fn === 'first' || a.fn === 'last') && (b.fn === 'first' || b.fn === 'last')) {
    if (b.ts !== null) step(a, b.v, b.ts, b.dev);
  }
  return a;
}

/** The aggregate's value: count → n, sum → NULL over no rows, avg = sum / count. */
export function finalValue(s: AggState): SqlValue {
  switch (s.fn) {
    case 'count':
      return s.n;
    case 'sum':
      return s.n === 0 ? null : s.sum;
    case 'avg':
      return s.n === 0 ? null : s.sum / s.n;
    default:
      return s.v;
  }
}

/** One group of a partial aggregate: its GROUP BY key values and one state per aggregate. */
export interface PartialGroup {
  key: SqlValue[];
  states: AggState[];
}

/**
 * What one scan (a device, a data node, a gateway) contributes to a query before
 * HAVING, fill, ORDER BY and LIMIT: aggregated groups, or plain rows (each with its
 * ORDER BY sort values appended after the output columns).
 */
export type PartialResult = { kind: 'groups'; groups: PartialGroup[] } | { kind: 'rows'; rows: SqlValue[][] };

/**
 * Merges partial results of the same query (scatter-gather): groups with equal keys
 * are merged state by state; rows are concatenated. Inputs are not modified.
 */
export function mergePartials(parts: readonly PartialResult[]): PartialResult {
  const first = parts[0];
  if (first === undefined || first.kind === 'rows') {
    return { kind: 'rows', rows: parts.flatMap((p) => (p.kind === 'rows' ? p.rows : [])) };
  }
  const byKey = new Map<string, PartialGroup>();
  for (const p of parts) {
    if (p.kind !== 'groups') throw new Error('cannot merge grouped and plain partial results');
    for (const g of p.groups) {
      const k = tupleKey(g.key);
      const have = byKey.get(k);
      if (have === undefined) byKey.set(k, { key: [...g.key], states: g.states.map((s) => ({ ...s })) });
      else g.states.forEach((s, i) => mergeState(have.states[i] as AggState, s));
    }
  }
  return { kind: 'groups', groups: [...byKey.values()] };
}
