/**
 * Where scanned rows go: grouped into aggregate states (constant memory per group), or
 * kept as output rows (stopping early at LIMIT when there is no ORDER BY, keeping only
 * the best OFFSET+LIMIT rows when there is).
 */
import { LmjError } from '../errors.js';
import { mergeState, newState, step, type AggState, type PartialGroup, type PartialResult } from './aggregate.js';
import type { Budget } from './budget.js';
import type { CompiledSelect } from './compile-select.js';
import type { SqlValue } from './types.js';
import { compareValues, tupleKey } from './values.js';

/** Order of (ts, device) for first/last: slots in the row, or the visit order. */
export interface RowOrder {
  tsSlot: number | null;
  devSlot: number | null;
}

/** Consumes rows that passed WHERE; `add` returns false when no more rows are needed. */
export interface Sink {
  add(row: SqlValue[]): boolean;
  /**
   * Folds a group's states computed elsewhere (the native pushdown) in; aggregated sinks
   * only. Takes ownership of `key` and `states` (the caller must not reuse them).
   */
  mergeGroup?(key: SqlValue[], states: AggState[]): void;
  partial(): PartialResult;
}

/** Compares two output rows by their ORDER BY values (after `offset` output columns). */
export function rowComparator(offset: number, desc: readonly boolean[]): (a: SqlValue[], b: SqlValue[]) => number {
  return (a, b) => {
    for (let i = 0; i < desc.length; i++) {
      const c = compareValues(a[offset + i] ?? null, b[offset + i] ?? null);
      // SQLite's order: NULLs first ascending, last descending.
      if (c !== 0) return desc[i] === true ? -c : c;
    }
    return 0;
  };
}

function sameValues(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The map key of a group key: the value itself for one key (numbers and text are
 * distinct Map keys, booleans count as 0/1 as in tupleKey), else its tupleKey. A sink's
 * keys all have the same length, so the two forms never meet in one map.
 */
function groupKey(key: readonly SqlValue[]): SqlValue {
  if (key.length !== 1) return tupleKey(key);
  const v = key[0] as SqlValue;
  return typeof v === 'boolean' ? Number(v) : v;
}

class GroupSink implements Sink {
  private readonly groups = new Map<SqlValue, PartialGroup>();
  private seq = 0;
  /** The group key of the current row, reused row after row. */
  private readonly scratch: SqlValue[] = [];
  /** The group of the previous row. */
  private last: PartialGroup | undefined;

  constructor(
    private readonly c: CompiledSelect,
    private readonly order: RowOrder,
    private readonly budget: Budget,
  ) {}

  mergeGroup(key: SqlValue[], states: AggState[]): void {
    const k = groupKey(key);
    const g = this.groups.get(k);
    if (g !== undefined) {
      for (let i = 0; i < states.length; i++) mergeState(g.states[i] as AggState, states[i] as AggState);
      return;
    }
    // A new group takes the caller's arrays (the pushdown builds them per group): merging
    // them into fresh states would give the same values.
    this.groups.set(k, { key, states });
    this.budget.held(this.groups.size, 'groups');
  }

  /** The group of `key` (copied when the group is new). */
  private group(key: SqlValue[]): PartialGroup {
    // Rows of one device arrive in time order, so consecutive rows mostly share their
    // group (a bucket, the device): identical key values are the same tupleKey.
    let g = this.last;
    if (g === undefined || !sameValues(key, g.key)) {
      const k = groupKey(key);
      g = this.groups.get(k);
      if (g === undefined) {
        g = { key: key.slice(), states: this.c.aggs.map((a) => newState(a.fn)) };
        this.groups.set(k, g);
        this.budget.held(this.groups.size, 'groups');
      }
      this.last = g;
    }
    return g;
  }

  add(row: SqlValue[]): boolean {
    const fns = this.c.groupFns;
    const key = this.scratch;
    for (let i = 0; i < fns.length; i++) key[i] = (fns[i] as (typeof fns)[number])(row);
    const g = this.group(key);
    const ts = this.order.tsSlot === null ? this.seq++ : Number(row[this.order.tsSlot]);
    const dev = this.order.devSlot === null ? '' : String(row[this.order.devSlot]);
    const aggs = this.c.aggs;
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i] as (typeof aggs)[number];
      step(g.states[i] as AggState, a.arg === null ? true : a.arg(row), ts, dev);
    }
    return true;
  }

  partial(): PartialResult {
    return { kind: 'groups', groups: [...this.groups.values()] };
  }
}

class RowSink implements Sink {
  private rows: SqlValue[][] = [];
  private readonly keep: number | null;
  private readonly cmp: (a: SqlValue[], b: SqlValue[]) => number;

  constructor(
    private readonly c: CompiledSelect,
    private readonly budget: Budget,
  ) {
    const lim = c.stmt.limit;
    this.keep = lim === null ? null : c.stmt.offset + lim;
    this.cmp = rowComparator(c.outFns.length, c.orderDesc);
  }

  add(row: SqlValue[]): boolean {
    const out: SqlValue[] = [];
    for (const f of this.c.outFns) out.push(f(row));
    for (const f of this.c.orderFns) out.push(f(row));
    this.rows.push(out);
    const ordered = this.c.orderFns.length > 0;
    if (!ordered) {
      if (this.keep !== null && this.rows.length >= this.keep) return false;
      if (this.rows.length > this.budget.limits.maxRows) throw tooManyRows(this.budget.limits.maxRows);
      return true;
    }
    if (this.keep !== null && this.rows.length >= Math.max(2 * this.keep, 1024)) {
      this.rows.sort(this.cmp);
      this.rows.length = this.keep;
    }
    this.budget.held(this.rows.length, 'rows for ORDER BY');
    return true;
  }

  partial(): PartialResult {
    if (this.c.orderFns.length > 0 && this.keep !== null && this.rows.length > this.keep) {
      this.rows.sort(this.cmp);
      this.rows.length = this.keep;
    }
    return { kind: 'rows', rows: this.rows };
  }
}

/** QUERY_LIMIT for an answer over `maxRows` rows. */
export function tooManyRows(maxRows: number): LmjError {
  return new LmjError('QUERY_LIMIT', `answer has more than ${maxRows} rows; add a LIMIT or aggregate`, {
    details: { limit: 'maxRows', value: maxRows },
  });
}

/** The sink for a compiled SELECT. */
export function makeSink(c: CompiledSelect, order: RowOrder, budget: Budget): Sink {
  return c.aggregated ? new GroupSink(c, order, budget) : new RowSink(c, budget);
}
