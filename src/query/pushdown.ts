/**
 * Aggregate pushdown: a `readings` GROUP BY whose every part the addon can compute
 * (ReadingScanKernel.aggregateReadings) runs as ONE native call per device instead of
 * a row per reading through WHERE and the group sink. Exactly the same answer or no
 * pushdown at all:
 *
 * - aggregates count(*), count/sum/avg/min/max of a member column; groups: `device`
 *   and at most one `time_bucket(…, ts)`; WHERE: AND of conjuncts that name only
 *   `device` (evaluated once per device), or `ts`/member compared with a finite number;
 * - sums are added in row order, as the sink does; when sum/avg groups could span
 *   devices (no `device` group key, more than one instance) the merge would add in
 *   another order, so such a query is not pushed down;
 * - a device whose used members hold anything but finite numbers (text, booleans,
 *   wide integers, NaN) is answered by the kernel's "fall back" and scanned row by row.
 */
import type { ReadTxn } from '../core/types.js';
import { AGG_NO_OWNER } from '../core/index.js';
import { ROOT, ROOT_PTR } from '../core/telemetry/model.js';
import type { AggState } from './aggregate.js';
import type { AggFn, Expr } from './ast.js';
import type { Budget } from './budget.js';
import type { Sink } from './sink.js';
import { visit } from './ast.js';
import type { CompiledSelect } from './compile-select.js';
import { compile, truth, type Compiled, type EvalContext } from './eval.js';
import { conjuncts } from './plan.js';
import type { SqlValue } from './types.js';

const OPS: Record<string, number> = { '<': 0, '<=': 1, '>': 2, '>=': 3, '=': 4, '<>': 5 };
const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=', '<>': '<>' };
const FNS: Partial<Record<AggFn, number>> = { count: 1, sum: 2, avg: 3, min: 4, max: 5 };
const FIXED = new Set(['device', 'ts', 'ptr']);

/** A query the kernel can aggregate, as the kernel's arguments. */
export interface Pushdown {
  preds: Float64Array;
  width: number;
  aggs: Float64Array;
  /** Per GROUP BY key: the device id or the bucket. */
  keys: ('device' | 'bucket')[];
  /** WHERE conjuncts over `device` only, evaluated on a row holding just the device. */
  deviceConds: Compiled[];
}

function constantNumber(e: Expr, ctx: EvalContext): number | undefined {
  let v: SqlValue;
  try {
    v = compile(e, { column: () => { throw new Error('not constant'); }, noAggregate: 'here' }, ctx)([]);
  } catch {
    return undefined;
  }
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function onlyDevice(e: Expr): boolean {
  let ok = true;
  visit(e, (x) => {
    if ((x.k === 'col' && x.name !== 'device') || x.k === 'agg') ok = false;
  });
  return ok;
}

/** [slot, op, value] of `col op constant` (either side), or undefined. */
function predicate(e: Expr, members: readonly string[], ctx: EvalContext): [number, number, number] | undefined {
  if (e.k !== 'bin' || OPS[e.op] === undefined) return undefined;
  const side = (col: Expr, other: Expr, op: string): [number, number, number] | undefined => {
    if (col.k !== 'col' || (FIXED.has(col.name) && col.name !== 'ts')) return undefined;
    const value = constantNumber(other, ctx);
    const slot = col.name === 'ts' ? -1 : members.indexOf(col.name);
    if (value === undefined || (col.name !== 'ts' && slot < 0)) return undefined;
    return [slot, OPS[op] as number, value];
  };
  return side(e.l, e.r, e.op) ?? side(e.r, e.l, FLIP[e.op] as string);
}

function groupKeys(c: CompiledSelect): { keys: Pushdown['keys']; width: number } | undefined {
  const keys: Pushdown['keys'] = [];
  let width = 0;
  for (const g of c.groupExprs) {
    if (g.k === 'col' && g.name === 'device') keys.push('device');
    else if (g.k === 'bucket' && g.e.k === 'col' && g.e.name === 'ts' && width === 0 && g.width > 0) {
      keys.push('bucket');
      width = g.width;
    } else return undefined;
  }
  return { keys, width };
}

/** The pushdown of a compiled `readings` SELECT over `instances` devices, or null. */
export function pushdownOf(c: CompiledSelect, ctx: EvalContext, instances: number): Pushdown | null {
  if (!c.aggregated || c.aggs.length === 0) return null;
  const groups = groupKeys(c);
  if (groups === undefined) return null;
  const aggs: number[] = [];
  for (const a of c.aggs) {
    const fn = FNS[a.fn];
    if (fn === undefined) return null;
    if (a.argExpr === null) {
      if (a.fn !== 'count') return null;
      aggs.push(0, -1);
      continue;
    }
    const arg = a.argExpr;
    if (arg.k !== 'col' || FIXED.has(arg.name)) return null;
    aggs.push(fn, c.members.indexOf(arg.name));
  }
  const summing = c.aggs.some((a) => a.fn === 'sum' || a.fn === 'avg');
  if (summing && instances > 1 && !groups.keys.includes('device')) return null;
  const preds: number[] = [];
  const deviceConds: Compiled[] = [];
  for (const e of conjuncts(c.stmt.where)) {
    if (onlyDevice(e)) {
      deviceConds.push(compile(e, { column: () => 0, noAggregate: 'in WHERE' }, ctx));
      continue;
    }
    const p = predicate(e, c.members, ctx);
    if (p === undefined) return null;
    preds.push(...p);
  }
  return { preds: Float64Array.from(preds), width: groups.width, aggs: Float64Array.from(aggs), keys: groups.keys, deviceConds };
}

/** True when every device-only WHERE conjunct holds for `deviceId`. */
function deviceMatches(p: Pushdown, deviceId: string): boolean {
  if (p.deviceConds.length === 0) return true;
  const row: SqlValue[] = [deviceId];
  return p.deviceConds.every((f) => truth(f(row)) === true);
}

function stateOf(fn: AggFn, a: number, b: number): AggState {
  if (fn === 'count') return { fn, n: a };
  // 0 + b: the sum a fresh state would hold after merging b (never -0).
  if (fn === 'sum' || fn === 'avg') return { fn, n: a, sum: 0 + b };
  return { fn: fn as 'min' | 'max', v: a === 0 ? null : b };
}

/** Where and what one device's pushdown reads. */
export interface PushdownScan {
  from: number | null;
  to: number | null;
  /** `tsPrefix(from)` / `tsPrefix(to)`, built once per query. */
  fromKey: Buffer | null;
  toKey: Buffer | null;
  members: Buffer[];
  fns: readonly AggFn[];
}

/**
 * One device's readings aggregated by the addon into `sink`; false when the addon is
 * not usable here or the device holds values it leaves to the row scan (nothing counted).
 */
export function pushdownDevice(txn: ReadTxn, deviceId: string, p: Pushdown, scan: PushdownScan, sink: Sink, budget: Budget): boolean {
  if (sink.mergeGroup === undefined) return false;
  if (scan.from !== null && scan.to !== null && scan.from >= scan.to) return txn.nativeScan;
  const maxRows = budget.limits.maxScanned - budget.stats.rowsScanned + 1;
  // The root's `readings` pointer is read inside the addon call, in this transaction
  // (never cached across queries: the root can be rewritten between them).
  const out = txn.readingAggregates(ROOT_PTR, ROOT.readings, scan.fromKey, scan.toKey, { members: scan.members, preds: p.preds, width: p.width, aggs: p.aggs, maxRows });
  if (out === null) return false;
  // No root: no readings. A root member that is not a set pointer: the row scan reports it.
  if (out[0] === AGG_NO_OWNER) return true;
  if (out[0] !== 0) return false;
  budget.rows(out[1] as number);
  budget.stats.valuesRead += out[2] as number;
  // Rows of a device that fails a device-only conjunct are visited, as the row scan does, and dropped.
  if (!deviceMatches(p, deviceId)) return true;
  const groups = out[3] as number;
  const n = scan.fns.length;
  const keys = p.keys;
  for (let g = 0, o = 4; g < groups; g++, o += 1 + 2 * n) {
    const key: SqlValue[] = [];
    for (const k of keys) key.push(k === 'device' ? deviceId : (out[o] as number));
    const states: AggState[] = [];
    for (let i = 0; i < n; i++) states.push(stateOf(scan.fns[i] as AggFn, out[o + 1 + 2 * i] as number, out[o + 2 + 2 * i] as number));
    sink.mergeGroup(key, states);
  }
  return true;
}
