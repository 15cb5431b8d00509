/** `runQuery`: one SQL statement against a {@link QuerySource}. */
import { LmjError, isLmjError } from '../errors.js';
import type { SelectStmt, Stmt } from './ast.js';
import type { PartialResult } from './aggregate.js';
import { mergePartials } from './aggregate.js';
import { Budget } from './budget.js';
import type { EvalContext } from './eval.js';
import { finishSelect } from './finish.js';
import { parseSql } from './parse.js';
import { findWord, sqlError } from './position.js';
import { PreparedCache, cacheable, preparedKey } from './prepared-cache.js';
import { explainSelect, prepareSelect, selectPartial, type PreparedSelect } from './select-run.js';
import { createTable, deleteRows, dropTable, insertRows, updateRows } from './tables.js';
import { DEFAULT_LIMITS, type QueryLimits, type QueryOptions, type QueryResult, type QuerySource, type ScanMode } from './types.js';

/** A parsed and compiled SELECT, for running on several sources and merging (scatter-gather). */
export interface PreparedQuery {
  /** This source's partial result (groups or rows before HAVING, FILL, ORDER BY, LIMIT). */
  partial(source: QuerySource): Promise<PartialResult>;
  /** The answer from the partial results of all sources (merged here). */
  finish(partials: readonly PartialResult[]): QueryResult;
  /** EXPLAIN lines for `source`. */
  explain(source: QuerySource): Promise<string[]>;
  /** Work counted so far by this prepared query. */
  readonly budget: Budget;
}

function resolve(options: QueryOptions): { ctx: EvalContext; limits: QueryLimits; mode: ScanMode } {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  return { ctx: { params: options.params ?? [], now: options.now ?? Date.now() }, limits, mode: options.scan ?? 'auto' };
}

/** Prepared SELECTs of `runQuery` by SQL text and parameters (see prepared-cache.ts). */
const preparedSelects = new PreparedCache<PreparedSelect>();

/** `stmt` prepared, from the cache when its text and parameters were prepared before. */
async function preparedSelect(sql: string, stmt: SelectStmt, source: QuerySource, ctx: EvalContext, budget: Budget): Promise<PreparedSelect> {
  // Only cacheable statements are ever stored, so a hit needs no further check.
  const key = preparedKey(sql, ctx.params);
  const hit = key === null ? undefined : preparedSelects.get(key);
  if (hit !== undefined) return hit;
  const p = await prepareSelect(stmt, source, ctx, budget);
  if (key !== null && cacheable(stmt)) preparedSelects.set(key, p);
  return p;
}

/** Adds a position to SQL_INVALID errors raised while compiling (they name a column or nothing). */
function located(sql: string, err: unknown): unknown {
  if (!isLmjError(err) || (err.code !== 'SQL_INVALID' && err.code !== 'SQL_TABLE_NOT_FOUND') || err.details?.['position'] !== undefined) return err;
  const word = typeof err.details?.['column'] === 'string' ? err.details['column'] : typeof err.details?.['table'] === 'string' ? err.details['table'] : '';
  return sqlError(err.code, err.message, findWord(sql, word), err.details ?? {});
}

function wrap(sql: string, p: PreparedSelect, source: QuerySource, budget: Budget, ctx: EvalContext, limits: QueryLimits, mode: ScanMode): PreparedQuery {
  return {
    budget,
    partial: (s) => selectPartial(p, s, ctx, budget, mode).catch((err: unknown) => Promise.reject(located(sql, err))),
    finish: (partials) => {
      try {
        // No partials at all (no node answered) is the empty input of this query's kind.
        const empty: PartialResult = p.compiled.aggregated ? { kind: 'groups', groups: [] } : { kind: 'rows', rows: [] };
        const merged = partials.length === 0 ? empty : partials.length === 1 ? (partials[0] as PartialResult) : mergePartials(partials);
        return { ...finishSelect(p.compiled, merged, p.plan, limits), stats: { ...budget.stats } };
      } catch (err) {
        throw located(sql, err);
      }
    },
    explain: () => explainSelect(p, source, ctx, mode),
  };
}

/** Parses and compiles a SELECT (SQL_UNSUPPORTED for other statements: they run only via runQuery). */
export async function prepareQuery(source: QuerySource, sql: string, options: QueryOptions = {}): Promise<PreparedQuery> {
  const stmt = parseSql(sql);
  if (stmt.kind !== 'select') throw sqlError('SQL_UNSUPPORTED', `${stmt.kind.toUpperCase()} cannot be prepared for scatter-gather`, findWord(sql, stmt.kind));
  const { ctx, limits, mode } = resolve(options);
  const budget = new Budget(limits);
  try {
    return wrap(sql, await prepareSelect(stmt, source, ctx, budget), source, budget, ctx, limits, mode);
  } catch (err) {
    throw located(sql, err);
  }
}

async function write(source: QuerySource, stmt: Exclude<Stmt, SelectStmt>, ctx: EvalContext, budget: Budget): Promise<number> {
  if (source.tables === undefined) throw new LmjError('SQL_UNSUPPORTED', `${stmt.kind.toUpperCase()}: pseudo-tables are not offered here`);
  const store = await source.tables();
  budget.stats.instances++;
  return store.write((txn) => {
    switch (stmt.kind) {
      case 'create':
        return createTable(txn, stmt);
      case 'drop':
        return dropTable(txn, stmt);
      case 'insert':
        return insertRows(txn, stmt, ctx);
      case 'update':
        return updateRows(txn, stmt, ctx, budget);
      case 'delete':
        return deleteRows(txn, stmt, ctx, budget);
    }
  });
}

/**
 * Runs one statement: SELECT (or EXPLAIN SELECT) over the telemetry views or a
 * pseudo-table, or CREATE/INSERT/UPDATE/DELETE/DROP on a pseudo-table (each one write
 * transaction; the answer is one row: the number of rows written).
 */
export async function runQuery(source: QuerySource, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const stmt = parseSql(sql);
  const { ctx, limits, mode } = resolve(options);
  const budget = new Budget(limits);
  try {
    if (stmt.kind !== 'select') {
      const n = await write(source, stmt, ctx, budget);
      budget.stats.rowsWritten = n;
      return { columns: [{ name: 'rows', type: 'int' }], rows: [[n]], stats: budget.stats };
    }
    const p = await preparedSelect(sql, stmt, source, ctx, budget);
    if (stmt.explain) {
      const lines = await explainSelect(p, source, ctx, mode);
      return { columns: [{ name: 'plan', type: 'text' }], rows: lines.map((l) => [l]), stats: budget.stats };
    }
    const partial = await selectPartial(p, source, ctx, budget, mode);
    return { ...finishSelect(p.compiled, partial, p.plan, limits), stats: budget.stats };
  } catch (err) {
    throw located(sql, err);
  }
}
