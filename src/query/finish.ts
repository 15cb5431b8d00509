/**
 * From merged partial results to the answer: empty-bucket FILL, HAVING, the output
 * columns, ORDER BY, OFFSET/LIMIT and column types. Pure: the router runs it on the
 * merged partials of its nodes.
 */
import { finalValue, newState, type PartialGroup, type PartialResult } from './aggregate.js';
import type { CompiledSelect } from './compile-select.js';
import { truth } from './eval.js';
import { rowComparator, tooManyRows } from './sink.js';
import type { Column, QueryLimits, SqlType, SqlValue } from './types.js';
import { tupleKey, typeOf } from './values.js';
import { LmjError } from '../errors.js';

/** Time range of the query (for FILL): [from, to) in ms. */
export interface FillRange {
  from: number | null;
  to: number | null;
}

function fillRows(c: CompiledSelect, rows: SqlValue[][], range: FillRange, limits: QueryLimits): SqlValue[][] {
  const f = c.fill;
  if (f === null) return rows;
  if (range.from === null || range.to === null) {
    throw new LmjError('SQL_INVALID', 'time_bucket with FILL needs lower and upper ts bounds in WHERE (ts >= a AND ts < b)');
  }
  const start = Math.floor(range.from / f.width) * f.width;
  const nBuckets = Math.ceil((range.to - start) / f.width);
  const g = c.groupFns.length;
  const series = new Map<string, Map<number, SqlValue[]>>();
  for (const r of rows) {
    const others = r.slice(0, g).filter((_, i) => i !== f.index);
    const k = tupleKey(others);
    let s = series.get(k);
    if (s === undefined) series.set(k, (s = new Map()));
    s.set(Number(r[f.index]), r);
  }
  if (series.size === 0 && c.groupFns.length === 1) series.set(tupleKey([]), new Map());
  if (series.size * nBuckets > limits.maxGroups) {
    throw new LmjError('QUERY_LIMIT', `FILL would produce more than ${limits.maxGroups} buckets`, { details: { limit: 'maxGroups' } });
  }
  const empty = c.aggs.map((a) => finalValue(newState(a.fn)));
  const out: SqlValue[][] = [];
  for (const s of series.values()) {
    const any = s.values().next().value as SqlValue[] | undefined;
    let prev: SqlValue[] | null = null;
    for (let b = 0; b < nBuckets; b++) {
      const t = start + b * f.width;
      const have = s.get(t);
      if (have !== undefined) {
        out.push(have);
        prev = have;
        continue;
      }
      const keys = any === undefined ? [t] : any.slice(0, g).map((v, i) => (i === f.index ? t : v));
      let vals: SqlValue[] = empty;
      if (f.fill.kind === 'prev' && prev !== null) vals = prev.slice(g);
      else if (f.fill.kind === 'value') vals = c.aggs.map(() => (f.fill.kind === 'value' ? f.fill.value : null));
      const row: SqlValue[] = [...keys, ...vals];
      out.push(row);
      prev = row;
    }
  }
  return out;
}

function columnType(rows: readonly SqlValue[][], i: number, declared: SqlType | undefined): SqlType {
  if (declared !== undefined) return declared;
  let t: SqlType = 'null';
  for (const r of rows) {
    const vt = typeOf(r[i] ?? null);
    if (vt === 'null' || vt === t) continue;
    if (t === 'null') t = vt;
    else if ((t === 'int' && vt === 'real') || (t === 'real' && vt === 'int')) t = 'real';
    else return 'json';
  }
  return t;
}

/** Output values then ORDER BY values of each post-aggregation row (plain loops: this runs on every answer). */
function outputRows(c: CompiledSelect, post: readonly SqlValue[][]): SqlValue[][] {
  const outFns = c.outFns;
  const orderFns = c.orderFns;
  const rows: SqlValue[][] = new Array<SqlValue[]>(post.length);
  for (let i = 0; i < post.length; i++) {
    const r = post[i] as SqlValue[];
    const o: SqlValue[] = [];
    for (const f of outFns) o.push(f(r));
    for (const f of orderFns) o.push(f(r));
    rows[i] = o;
  }
  return rows;
}

/** Group keys then final aggregate values of each group. */
function groupRows(groups: readonly PartialGroup[]): SqlValue[][] {
  const post: SqlValue[][] = new Array<SqlValue[]>(groups.length);
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as PartialGroup;
    const r = g.key.slice();
    for (const st of g.states) r.push(finalValue(st));
    post[i] = r;
  }
  return post;
}

/** The answer rows and columns of a compiled SELECT from its (merged) partial result. */
export function finishSelect(c: CompiledSelect, partial: PartialResult, range: FillRange, limits: QueryLimits): { columns: Column[]; rows: SqlValue[][] } {
  const nOut = c.outFns.length;
  let rows: SqlValue[][];
  if (partial.kind === 'groups') {
    let groups: PartialGroup[] = partial.groups;
    // An aggregate without GROUP BY has exactly one row, also over no input.
    if (groups.length === 0 && c.groupFns.length === 0) groups = [{ key: [], states: c.aggs.map((a) => newState(a.fn)) }];
    let post = fillRows(c, groupRows(groups), range, limits);
    if (c.having !== null) {
      const h = c.having;
      post = post.filter((r) => truth(h(r)) === true);
    }
    rows = outputRows(c, post);
  } else {
    rows = partial.rows;
  }
  if (c.orderFns.length > 0) rows.sort(rowComparator(nOut, c.orderDesc));
  const end = c.stmt.limit === null ? undefined : c.stmt.offset + c.stmt.limit;
  if (c.stmt.offset > 0 || (end !== undefined && end < rows.length)) rows = rows.slice(c.stmt.offset, end);
  if (rows.length > limits.maxRows) throw tooManyRows(limits.maxRows);
  // Rows without ORDER BY values are already the output rows (never mutated afterwards).
  const out = c.orderFns.length === 0 && partial.kind === 'groups' ? rows : rows.map((r) => r.slice(0, nOut));
  const columns = c.names.map((name, i) => ({ name, type: columnType(out, i, c.declared[i]) }));
  return { columns, rows: out };
}
