/**
 * User pseudo-tables: CREATE/INSERT/UPDATE/DELETE/DROP, each ONE write transaction of
 * the tables instance touching only that table's schema object, rows set and row
 * objects; and the row scan SELECT uses (layout: table-schema.ts).
 */
import { ROOT_PTR } from '../core/telemetry/model.js';
import type { ReadTxn, WriteTxn } from '../core/types.js';
import { LmjError } from '../errors.js';
import type { CreateStmt, DeleteStmt, DropStmt, Expr, InsertStmt, UpdateStmt } from './ast.js';
import type { Budget } from './budget.js';
import { conjuncts } from './plan.js';
import { compile, truth, type EvalContext } from './eval.js';
import {
  checkTableName, coerce, encodeColumn, encodeKey, indexKey, nextIndex, readSchema, tableMember, writeSchema, type TableSchema,
} from './table-schema.js';
import type { SqlValue } from './types.js';
import { decodeSql } from './values.js';

const PTR_LEN = 17;

/** The schema of an existing table; SQL_TABLE_NOT_FOUND otherwise. */
export function requireTable(txn: ReadTxn, name: string): TableSchema {
  const t = readSchema(txn, name);
  if (t === null) throw new LmjError('SQL_TABLE_NOT_FOUND', `no table ${name}`, { details: { table: name } });
  return t;
}

/** CREATE TABLE. Returns 1 when created, 0 for IF NOT EXISTS on an existing table. */
export function createTable(txn: WriteTxn, s: CreateStmt): number {
  checkTableName(s.table);
  for (const c of s.columns) {
    if (Buffer.byteLength(c.name) > 200) throw new LmjError('SQL_INVALID', `column name ${c.name} is too long`);
  }
  if (readSchema(txn, s.table) !== null) {
    if (s.ifNotExists) return 0;
    throw new LmjError('SQL_TABLE_EXISTS', `table ${s.table} already exists`, { details: { table: s.table } });
  }
  writeSchema(txn, s.table, s.columns, s.primaryKey);
  return 1;
}

/** DROP TABLE: every row object, the rows set, the schema object and its root member. */
export function dropTable(txn: WriteTxn, s: DropStmt): number {
  const t = readSchema(txn, s.table);
  if (t === null) {
    if (s.ifExists) return 0;
    throw new LmjError('SQL_TABLE_NOT_FOUND', `no table ${s.table}`, { details: { table: s.table } });
  }
  let n = 0;
  for (const el of txn.setGet(t.rows).elements) {
    txn.objDel(el.subarray(el.length - PTR_LEN));
    n++;
  }
  txn.setDel(t.rows);
  txn.objDel(t.ptr);
  txn.memberDel(ROOT_PTR, tableMember(s.table));
  return n;
}

function constantScope(): { column(name: string): number; noAggregate: string } {
  return {
    noAggregate: 'in VALUES',
    column(name) {
      throw new LmjError('SQL_INVALID', `VALUES cannot name column ${name}`);
    },
  };
}

/** The row key of a row's values (primary key or a new insertion index). */
function rowKey(txn: WriteTxn, t: TableSchema, values: SqlValue[]): Buffer {
  if (t.primaryKey === null) return indexKey(nextIndex(txn, t));
  const i = t.columns.findIndex((c) => c.name === t.primaryKey);
  return encodeKey(values[i] as Exclude<SqlValue, null>);
}

/** The element for `key`, if any (keys never prefix one another). */
function findKey(txn: ReadTxn, t: TableSchema, key: Buffer): Buffer | undefined {
  const el = txn.setRange(t.rows, { from: key, limit: 1 })[0];
  return el !== undefined && el.length === key.length + PTR_LEN && el.subarray(0, key.length).equals(key) ? el : undefined;
}

function writeRow(txn: WriteTxn, t: TableSchema, ptr: Buffer, values: SqlValue[], before: SqlValue[] | null): void {
  t.columns.forEach((c, i) => {
    const v = values[i] ?? null;
    if (v !== null) txn.memberPut(ptr, c.name, encodeColumn(v, c));
    else if (before !== null && before[i] !== null) txn.memberDel(ptr, c.name);
  });
}

/** INSERT: all rows or none (one transaction). */
export function insertRows(txn: WriteTxn, s: InsertStmt, ctx: EvalContext): number {
  const t = requireTable(txn, s.table);
  const names = s.columns ?? t.columns.map((c) => c.name);
  const idx = names.map((n) => {
    const i = t.columns.findIndex((c) => c.name === n);
    if (i < 0) throw new LmjError('SQL_INVALID', `no column ${n} in ${t.name}`, { details: { column: n } });
    return i;
  });
  for (const row of s.rows) {
    if (row.length !== names.length) throw new LmjError('SQL_INVALID', `INSERT has ${row.length} values for ${names.length} columns`);
    const values: SqlValue[] = t.columns.map(() => null);
    row.forEach((e, j) => {
      values[idx[j] as number] = compile(e, constantScope(), ctx)([]);
    });
    const coerced = values.map((v, i) => coerce(v, t.columns[i] as (typeof t.columns)[number], t.name));
    const key = rowKey(txn, t, coerced);
    if (t.primaryKey !== null && findKey(txn, t, key) !== undefined) {
      throw new LmjError('CONSTRAINT_FAILED', `duplicate primary key ${JSON.stringify(coerced[t.columns.findIndex((c) => c.name === t.primaryKey)])} in ${t.name}`);
    }
    const ptr = txn.objCreate();
    writeRow(txn, t, ptr, coerced, null);
    txn.setAdd(t.rows, Buffer.concat([key, ptr]));
  }
  return s.rows.length;
}

/** A primary-key equality in WHERE narrows a scan to one seek. */
function pkValue(t: TableSchema, where: Expr | null, ctx: EvalContext): SqlValue | undefined {
  if (t.primaryKey === null) return undefined;
  for (const c of conjuncts(where)) {
    if (c.k !== 'bin' || c.op !== '=') continue;
    const [col, other] = c.l.k === 'col' && c.l.name === t.primaryKey ? [c.l, c.r] : c.r.k === 'col' && c.r.name === t.primaryKey ? [c.r, c.l] : [null, null];
    if (col === null || other === null) continue;
    try {
      return compile(other, constantScope(), ctx)([]);
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Describes how a table scan narrows (EXPLAIN). */
export function tableAccess(t: TableSchema, where: Expr | null, ctx: EvalContext): string {
  const pk = pkValue(t, where, ctx);
  return pk === undefined ? `full scan of rows set ${t.rows.toString('hex')}` : `one seek on primary key ${t.primaryKey} = ${JSON.stringify(pk)} in rows set ${t.rows.toString('hex')}`;
}

/**
 * Visits the rows of `t` (slot i = column i; `members` says which columns to read),
 * in key order; `emit(row, element)` returns false to stop.
 */
export function scanTable(
  txn: ReadTxn, t: TableSchema, where: Expr | null, ctx: EvalContext, wanted: readonly boolean[], budget: Budget,
  emit: (row: SqlValue[], element: Buffer) => boolean,
): void {
  const pk = pkValue(t, where, ctx);
  let elements: Iterable<Buffer>;
  if (pk !== undefined) {
    const el = pk === null || typeof pk === 'boolean' ? undefined : findKey(txn, t, encodeKey(pk));
    elements = el === undefined ? [] : [el];
  } else {
    elements = txn.setGet(t.rows).elements;
  }
  for (const el of elements) {
    budget.row();
    const ptr = el.subarray(el.length - PTR_LEN);
    const row: SqlValue[] = t.columns.map((c, i) => {
      if (wanted[i] !== true) return null;
      const v = txn.memberValue(ptr, c.name);
      if (v === undefined) return null;
      budget.stats.valuesRead++;
      return decodeSql(v);
    });
    if (!emit(row, el)) return;
  }
}

function matcher(t: TableSchema, where: Expr | null, ctx: EvalContext): (row: SqlValue[]) => boolean {
  if (where === null) return () => true;
  const f = compile(where, { noAggregate: 'in WHERE', column: (name) => columnIndex(t, name) }, ctx);
  return (row) => truth(f(row)) === true;
}

/** Index of a column; SQL_INVALID when there is none. */
export function columnIndex(t: TableSchema, name: string): number {
  const i = t.columns.findIndex((c) => c.name === name);
  if (i < 0) throw new LmjError('SQL_INVALID', `no column ${name} in ${t.name}`, { details: { column: name } });
  return i;
}

/** Collects matching rows first: writing under a live cursor of the same set would skip rows. */
function matching(txn: WriteTxn, t: TableSchema, where: Expr | null, ctx: EvalContext, budget: Budget): { row: SqlValue[]; el: Buffer }[] {
  const ok = matcher(t, where, ctx);
  const out: { row: SqlValue[]; el: Buffer }[] = [];
  scanTable(txn, t, where, ctx, t.columns.map(() => true), budget, (row, el) => {
    if (ok(row)) {
      out.push({ row, el: Buffer.from(el) });
      budget.held(out.length, 'rows to change');
    }
    return true;
  });
  return out;
}

/** UPDATE: every matching row rewritten in one transaction (a changed primary key moves its element). */
export function updateRows(txn: WriteTxn, s: UpdateStmt, ctx: EvalContext, budget: Budget): number {
  const t = requireTable(txn, s.table);
  const scope = { noAggregate: 'in UPDATE', column: (name: string) => columnIndex(t, name) };
  const sets = s.set.map((x) => ({ i: columnIndex(t, x.column), f: compile(x.expr, scope, ctx) }));
  const rows = matching(txn, t, s.where, ctx, budget);
  const pkIndex = t.primaryKey === null ? -1 : columnIndex(t, t.primaryKey);
  for (const { row, el } of rows) {
    const next = [...row];
    for (const x of sets) next[x.i] = x.f(row);
    const coerced = next.map((v, i) => coerce(v, t.columns[i] as (typeof t.columns)[number], t.name));
    const ptr = el.subarray(el.length - PTR_LEN);
    if (pkIndex >= 0 && coerced[pkIndex] !== row[pkIndex]) {
      const key = encodeKey(coerced[pkIndex] as Exclude<SqlValue, null>);
      if (findKey(txn, t, key) !== undefined) throw new LmjError('CONSTRAINT_FAILED', `duplicate primary key ${JSON.stringify(coerced[pkIndex])} in ${t.name}`);
      txn.setRemove(t.rows, el);
      txn.setAdd(t.rows, Buffer.concat([key, ptr]));
    }
    writeRow(txn, t, ptr, coerced, row);
  }
  return rows.length;
}

/** DELETE: matching row objects and their elements, in one transaction. */
export function deleteRows(txn: WriteTxn, s: DeleteStmt, ctx: EvalContext, budget: Budget): number {
  const t = requireTable(txn, s.table);
  const rows = matching(txn, t, s.where, ctx, budget);
  for (const { el } of rows) {
    txn.objDel(el.subarray(el.length - PTR_LEN));
    txn.setRemove(t.rows, el);
  }
  return rows.length;
}
