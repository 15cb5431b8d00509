/**
 * Prepared SELECTs by SQL text and parameter values, like a prepared statement of
 * SQLite: a dashboard or a client repeating a statement pays the plan and the compile
 * (view, access plan, closures, pushdown) once, then only scans.
 *
 * Cached only when the prepared form cannot depend on anything but the text and the
 * parameters: telemetry views (a pseudo-table's schema can change), no `SELECT *` (it
 * expands from the devices' paths), no `now()` (its value is bound at compile time).
 * Parameters are part of the key because the compiled closures and the plan hold their
 * values. Prepared statements are never mutated, so concurrent queries share them.
 */
import { visit, type Expr, type SelectStmt } from './ast.js';

/** Entries kept; the least recently used one is dropped beyond it. */
export const PREPARED_CACHE_SIZE = 256;

const VIEWS = new Set(['readings', 'latest', 'devices']);

function usesNow(stmt: SelectStmt): boolean {
  const exprs: Expr[] = [...stmt.items.map((i) => i.expr), ...stmt.groupBy, ...stmt.orderBy.map((o) => o.expr)];
  if (stmt.where !== null) exprs.push(stmt.where);
  if (stmt.having !== null) exprs.push(stmt.having);
  let found = false;
  for (const e of exprs) {
    visit(e, (x) => {
      if (x.k === 'fn' && x.name === 'now') found = true;
    });
  }
  return found;
}

/** The cache key of a statement with `params`, or null when the parameters cannot be told apart by it. */
export function preparedKey(sql: string, params: readonly unknown[]): string | null {
  // JSON tells 1 from "1" and true, but not NaN/±Infinity from null nor -0 from 0.
  if (params.some((v) => typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)))) return null;
  return params.length === 0 ? sql : `${sql}\u0000${JSON.stringify(params)}`;
}

/** Whether the prepared form of `stmt` depends only on its text and parameters (so it may be cached). */
export function cacheable(stmt: SelectStmt): boolean {
  return !stmt.explain && !stmt.star && VIEWS.has(stmt.from) && !usesNow(stmt);
}

/** A bounded least-recently-used map. */
export class PreparedCache<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly size = PREPARED_CACHE_SIZE) {}

  get(key: string): T | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      // Move to the most recent end.
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
  }

  get count(): number {
    return this.entries.size;
  }
}
