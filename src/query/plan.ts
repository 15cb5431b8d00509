/**
 * The access plan of a query over the telemetry views: which device instances
 * (from `device = / IN / LIKE` conjuncts of WHERE) and which `readings` element range
 * (from `ts` bounds), so a scan opens only those instances and walks only that
 * cursor range. The WHERE clause is still evaluated on every row, so the plan only
 * narrows, never decides.
 */
import type { Expr } from './ast.js';
import { compile, likeRegExp, type EvalContext } from './eval.js';
import type { SqlValue } from './types.js';

/** Which devices a scan opens. */
export type DeviceFilter =
  | { kind: 'all' }
  | { kind: 'list'; ids: string[] }
  | { kind: 'like'; pattern: string };

/** Device set and time range (`from` inclusive, `to` exclusive, Unix ms). */
export interface AccessPlan {
  devices: DeviceFilter;
  from: number | null;
  to: number | null;
}

/** The top-level AND conjuncts of a condition. */
export function conjuncts(e: Expr | null): Expr[] {
  if (e === null) return [];
  if (e.k === 'bin' && e.op === 'AND') return [...conjuncts(e.l), ...conjuncts(e.r)];
  return [e];
}

/** The value of a constant expression (literals, parameters, now(), arithmetic), or undefined. */
function constant(e: Expr, ctx: EvalContext): SqlValue | undefined {
  try {
    return compile(e, { column: () => { throw new Error('not constant'); }, noAggregate: 'here' }, ctx)([]);
  } catch {
    return undefined;
  }
}

function isCol(e: Expr, name: string): boolean {
  return e.k === 'col' && e.name === name;
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

function intersect(a: DeviceFilter, b: DeviceFilter): DeviceFilter {
  if (a.kind === 'all') return b;
  if (b.kind === 'all') return a;
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', ids: a.ids.filter((x) => b.ids.includes(x)) };
  if (a.kind === 'list' && b.kind === 'like') return { kind: 'list', ids: a.ids.filter((x) => likeRegExp(b.pattern).test(x)) };
  if (b.kind === 'list') return intersect(b, a);
  // Two LIKE patterns: keep the first for the instance choice; WHERE applies both per row.
  return a;
}

/** Derives the access plan from WHERE (`deviceCol` is `device` in every telemetry view). */
export function accessPlan(where: Expr | null, ctx: EvalContext, deviceCol = 'device', tsCol: string | null = 'ts'): AccessPlan {
  const plan: AccessPlan = { devices: { kind: 'all' }, from: null, to: null };
  const lower = (v: number): void => {
    plan.from = plan.from === null ? v : Math.max(plan.from, v);
  };
  const upper = (v: number): void => {
    plan.to = plan.to === null ? v : Math.min(plan.to, v);
  };
  for (const c of conjuncts(where)) {
    if (c.k === 'bin' && c.op === '=' && (isCol(c.l, deviceCol) || isCol(c.r, deviceCol))) {
      const v = constant(isCol(c.l, deviceCol) ? c.r : c.l, ctx);
      if (v !== undefined) plan.devices = intersect(plan.devices, { kind: 'list', ids: typeof v === 'string' ? [v] : [] });
    } else if (c.k === 'in' && !c.not && isCol(c.e, deviceCol)) {
      const vs = c.list.map((x) => constant(x, ctx));
      if (vs.every((v) => v !== undefined)) plan.devices = intersect(plan.devices, { kind: 'list', ids: vs.filter((v): v is string => typeof v === 'string') });
    } else if (c.k === 'like' && !c.not && isCol(c.e, deviceCol)) {
      const p = constant(c.pat, ctx);
      if (typeof p === 'string') plan.devices = intersect(plan.devices, { kind: 'like', pattern: p });
    } else if (tsCol !== null && c.k === 'between' && !c.not && isCol(c.e, tsCol)) {
      const lo = constant(c.lo, ctx);
      const hi = constant(c.hi, ctx);
      if (typeof lo === 'number') lower(Math.ceil(lo));
      if (typeof hi === 'number') upper(Math.floor(hi) + 1);
    } else if (tsCol !== null && c.k === 'bin' && c.op in FLIP && (isCol(c.l, tsCol) || isCol(c.r, tsCol))) {
      const op = isCol(c.l, tsCol) ? c.op : (FLIP[c.op] as string);
      const v = constant(isCol(c.l, tsCol) ? c.r : c.l, ctx);
      if (typeof v !== 'number') continue;
      // ts is an integer (ms): turn every bound into [from, to).
      if (op === '>=') lower(Math.ceil(v));
      else if (op === '>') lower(Math.floor(v) + 1);
      else if (op === '<') upper(Math.ceil(v));
      else if (op === '<=') upper(Math.floor(v) + 1);
      else {
        lower(Math.ceil(v));
        upper(Math.floor(v) + 1);
      }
    }
  }
  if (plan.from !== null) plan.from = Math.max(0, plan.from);
  if (plan.to !== null) plan.to = Math.max(0, plan.to);
  return plan;
}

/** Applies a device filter to the ids a source holds (sorted, deduplicated). */
export function selectDevices(filter: DeviceFilter, ids: readonly string[]): string[] {
  if (filter.kind === 'all') return [...ids].sort();
  if (filter.kind === 'list') {
    // One or a few named devices (the usual `device = 'x'`): no set of every id.
    if (filter.ids.length <= 4) return [...new Set(filter.ids)].filter((x) => ids.includes(x)).sort();
    const have = new Set(ids);
    return [...new Set(filter.ids)].filter((x) => have.has(x)).sort();
  }
  const re = likeRegExp(filter.pattern);
  return ids.filter((x) => re.test(x)).sort();
}
