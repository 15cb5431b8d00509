/**
 * Comparing our SQL answers with SQLite's on the same rows: the query text is
 * translated only where the dialects differ (time_bucket → integer arithmetic,
 * first/last → first_by/last_by aggregates registered by sqliteReadings), values are
 * compared with a relative tolerance for floats (summation order differs).
 */
import type Database from 'better-sqlite3';
import type { SqlValue } from '../../src/query/index.js';

/** Our SQL → SQLite's. `time_bucket` must use a numeric width in ms here. */
export function toSqlite(sql: string): string {
  return sql
    .replace(/time_bucket\((\d+), ts\)/g, '((ts / $1) * $1)')
    .replace(/\bfirst\(/g, 'first_by(ts, device, ')
    .replace(/\blast\(/g, 'last_by(ts, device, ');
}

/** Rows of SQLite's answer as arrays. */
export function sqliteRows(db: Database.Database, sql: string, params: readonly unknown[] = []): unknown[][] {
  return db.prepare(toSqlite(sql)).raw(true).all(...params) as unknown as unknown[][];
}

function norm(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return v ?? null;
}

function same(a: unknown, b: unknown): boolean {
  const x = norm(a);
  const y = norm(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y || Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  return x === y;
}

function sortKey(row: readonly unknown[]): string {
  return JSON.stringify(row.map((v) => {
    const n = norm(v);
    return typeof n === 'number' ? Number(n.toPrecision(8)) : n;
  }));
}

/**
 * Undefined when equal, else a description of the first difference. `ordered`:
 * compare in order (the query's ORDER BY determines it), else as multisets.
 */
export function diffRows(ours: readonly (readonly SqlValue[])[], theirs: readonly (readonly unknown[])[], ordered: boolean): string | undefined {
  if (ours.length !== theirs.length) return `row count ${ours.length} vs SQLite ${theirs.length}`;
  const a = ordered ? ours : [...ours].sort((p, q) => sortKey(p).localeCompare(sortKey(q)));
  const b = ordered ? theirs : [...theirs].sort((p, q) => sortKey(p).localeCompare(sortKey(q)));
  for (let i = 0; i < a.length; i++) {
    const r = a[i] as readonly SqlValue[];
    const s = b[i] as readonly unknown[];
    if (r.length !== s.length || r.some((v, j) => !same(v, s[j]))) return `row ${i}: ${JSON.stringify(r)} vs SQLite ${JSON.stringify(s.map(norm))}`;
  }
  return undefined;
}
