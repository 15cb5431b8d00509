/**
 * A SELECT compiled against a view's columns: row slots, the WHERE filter, GROUP BY
 * key and aggregate closures evaluated while scanning, and the closures evaluated on
 * each group (or row) afterwards.
 */
import { LmjError } from '../errors.js';
import { exprKey, hasAgg, visit, type AggFn, type Expr, type Fill, type SelectStmt } from './ast.js';
import { compile, type Compiled, type EvalContext, type Scope } from './eval.js';
import type { SqlType } from './types.js';

/** The columns a query can name. */
export interface ViewColumns {
  /** Fixed columns, in slot order. */
  fixed: readonly string[];
  /** Any other name is a member column (telemetry views), else unknown (pseudo-tables). */
  dynamic: boolean;
  /** Declared types (pseudo-tables). */
  types?: ReadonlyMap<string, SqlType>;
}

/** One aggregate computed while scanning. */
export interface AggSpec {
  fn: AggFn;
  /** NULL for count(*). */
  arg: Compiled | null;
  /** The argument as written (for the native pushdown). */
  argExpr: Expr | null;
}

/** A compiled SELECT. */
export interface CompiledSelect {
  stmt: SelectStmt;
  /** Row width: fixed slots then member slots. */
  width: number;
  /** Member columns read, in slot order after the fixed ones. */
  members: string[];
  /** Fixed columns the query names. */
  referencedFixed: Set<string>;
  where: Compiled | null;
  aggregated: boolean;
  groupFns: Compiled[];
  /** GROUP BY expressions after alias and position substitution. */
  groupExprs: Expr[];
  aggs: AggSpec[];
  /** Output column closures: over the row (plain) or over [keys…, aggregate values…] (aggregated). */
  outFns: Compiled[];
  names: string[];
  /** Declared type of an output column that is a plain table column. */
  declared: (SqlType | undefined)[];
  having: Compiled | null;
  orderFns: Compiled[];
  orderDesc: boolean[];
  /** GROUP BY position of a time_bucket with FILL, its width and fill. */
  fill: { index: number; width: number; fill: Fill } | null;
}

function substitute(e: Expr, aliases: ReadonlyMap<string, Expr>, inAgg = false): Expr {
  if (e.k === 'col') return aliases.get(e.name) ?? e;
  const s = (x: Expr): Expr => substitute(x, aliases, inAgg);
  switch (e.k) {
    case 'bin':
      return { ...e, l: s(e.l), r: s(e.r) };
    case 'not':
    case 'neg':
    case 'isnull':
    case 'bucket':
      return { ...e, e: s(e.e) };
    case 'in':
      return { ...e, e: s(e.e), list: e.list.map(s) };
    case 'between':
      return { ...e, e: s(e.e), lo: s(e.lo), hi: s(e.hi) };
    case 'like':
      return { ...e, e: s(e.e), pat: s(e.pat) };
    case 'fn':
      return { ...e, args: e.args.map(s) };
    default:
      // Inside an aggregate a name is the input column, never an output alias.
      return e;
  }
}

/** Resolves `ORDER BY 2` / `GROUP BY 1` to the select item. */
function byPosition(e: Expr, stmt: SelectStmt, clause: string): Expr {
  if (e.k !== 'lit' || typeof e.v !== 'number') return e;
  const item = stmt.items[e.v - 1];
  if (!Number.isInteger(e.v) || item === undefined) throw new LmjError('SQL_INVALID', `${clause} position ${e.v} is not in the select list`);
  return item.expr;
}

/** Compiles `stmt` for `view`. */
export function compileSelect(stmt: SelectStmt, view: ViewColumns, ctx: EvalContext): CompiledSelect {
  const slots = new Map<string, number>(view.fixed.map((c, i) => [c, i]));
  const members: string[] = [];
  const referencedFixed = new Set<string>();
  const rowScope = (where: string): Scope => ({
    noAggregate: where,
    column(name) {
      const have = slots.get(name);
      if (have !== undefined) {
        if (have < view.fixed.length) referencedFixed.add(name);
        return have;
      }
      if (!view.dynamic) throw new LmjError('SQL_INVALID', `no column ${name} in ${stmt.from}`, { details: { column: name } });
      if (Buffer.byteLength(name) < 1 || Buffer.byteLength(name) > 493) throw new LmjError('SQL_INVALID', `column name ${JSON.stringify(name)} is not a member name (1..493 bytes)`);
      const slot = view.fixed.length + members.length;
      members.push(name);
      slots.set(name, slot);
      return slot;
    },
  });
  const aliases = new Map<string, Expr>();
  for (const it of stmt.items) if (it.alias !== null) aliases.set(it.alias, it.expr);
  const where = stmt.where === null ? null : compile(stmt.where, rowScope('in WHERE'), ctx);
  const groupExprs = stmt.groupBy.map((g) => substitute(byPosition(g, stmt, 'GROUP BY'), aliases));
  const orderExprs = stmt.orderBy.map((o) => substitute(byPosition(o.expr, stmt, 'ORDER BY'), aliases));
  const having = stmt.having === null ? null : substitute(stmt.having, aliases);
  const aggregated = groupExprs.length > 0 || stmt.items.some((i) => hasAgg(i.expr)) || having !== null || orderExprs.some(hasAgg);
  const declared = stmt.items.map((i) => (i.expr.k === 'col' ? view.types?.get(i.expr.name) : undefined));
  const names = stmt.items.map((i) => i.name);
  if (!aggregated) {
    const scope = rowScope('without GROUP BY context');
    return {
      stmt, members, referencedFixed, where, aggregated, groupFns: [], groupExprs: [], aggs: [], names, declared, having: null, fill: null,
      outFns: stmt.items.map((i) => compile(i.expr, scope, ctx)),
      orderFns: orderExprs.map((e) => compile(e, scope, ctx)),
      orderDesc: stmt.orderBy.map((o) => o.desc),
      get width() {
        return view.fixed.length + members.length;
      },
    };
  }
  const groupScope = rowScope('in GROUP BY');
  const groupFns = groupExprs.map((g) => compile(g, groupScope, ctx));
  const groupKeys = new Map<string, number>(groupExprs.map((g, i) => [exprKey(g), i]));
  const aggs: AggSpec[] = [];
  const aggSlots = new Map<string, number>();
  const argScope = rowScope('inside another aggregate');
  const post: Scope = {
    noAggregate: 'here',
    slotOf(key, e) {
      const g = groupKeys.get(key);
      if (g !== undefined) return g;
      if (e.k !== 'agg') return undefined;
      let slot = aggSlots.get(key);
      if (slot === undefined) {
        slot = groupExprs.length + aggs.length;
        aggs.push({ fn: e.fn, arg: e.arg === null ? null : compile(e.arg, argScope, ctx), argExpr: e.arg });
        aggSlots.set(key, slot);
      }
      return slot;
    },
    column(name) {
      throw new LmjError('SQL_INVALID', `column ${name} must appear in GROUP BY or be used in an aggregate`, { details: { column: name } });
    },
  };
  const outFns = stmt.items.map((i) => compile(i.expr, post, ctx));
  const havingFn = having === null ? null : compile(having, post, ctx);
  const orderFns = orderExprs.map((e) => compile(e, post, ctx));
  let fill: CompiledSelect['fill'] = null;
  groupExprs.forEach((g, index) => {
    if (g.k === 'bucket' && g.fill !== null) {
      if (fill !== null) throw new LmjError('SQL_INVALID', 'only one time_bucket per query may FILL');
      fill = { index, width: g.width, fill: g.fill };
    }
  });
  for (const it of stmt.items) visit(it.expr, (x) => {
    if (x.k === 'bucket' && x.fill !== null && !groupKeys.has(exprKey(x))) throw new LmjError('SQL_INVALID', 'a time_bucket with FILL must be a GROUP BY key');
  });
  return {
    stmt, members, referencedFixed, where, aggregated, groupFns, groupExprs, aggs, outFns, names, declared, having: havingFn, orderFns, fill,
    orderDesc: stmt.orderBy.map((o) => o.desc),
    get width() {
      return view.fixed.length + members.length;
    },
  };
}
