/** The internal form of a parsed statement (built from node-sql-parser's AST by parse.ts). */
import type { SqlValue } from './types.js';

/** Aggregate functions. */
export type AggFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last';

/** Fill of empty time buckets: NULL aggregates, the previous bucket's, or a constant. */
export type Fill = { kind: 'null' } | { kind: 'prev' } | { kind: 'value'; value: number };

/** A scalar or aggregate expression. */
export type Expr =
  | { k: 'col'; name: string }
  | { k: 'lit'; v: SqlValue }
  | { k: 'param'; i: number }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'in'; e: Expr; list: Expr[]; not: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean }
  | { k: 'like'; e: Expr; pat: Expr; not: boolean }
  | { k: 'isnull'; e: Expr; not: boolean }
  | { k: 'agg'; fn: AggFn; arg: Expr | null }
  | { k: 'bucket'; width: number; e: Expr; fill: Fill | null }
  | { k: 'fn'; name: string; args: Expr[] };

/** One SELECT list item. */
export interface SelectItem {
  expr: Expr;
  /** Output column name (alias, column name, or the expression's text). */
  name: string;
  alias: string | null;
}

/** A SELECT statement (optionally under EXPLAIN). */
export interface SelectStmt {
  kind: 'select';
  explain: boolean;
  /** `SELECT *` (expanded against the table's columns at plan time). */
  star: boolean;
  items: SelectItem[];
  from: string;
  where: Expr | null;
  groupBy: Expr[];
  having: Expr | null;
  orderBy: { expr: Expr; desc: boolean }[];
  limit: number | null;
  offset: number;
}

/** Declared column types of pseudo-tables. */
export type ColumnType = 'int' | 'real' | 'text' | 'bool';

/** One column of a pseudo-table. */
export interface ColumnDef {
  name: string;
  type: ColumnType;
  notNull: boolean;
}

/** CREATE TABLE. */
export interface CreateStmt {
  kind: 'create';
  table: string;
  columns: ColumnDef[];
  primaryKey: string | null;
  ifNotExists: boolean;
}

/** INSERT INTO t (cols) VALUES (…), (…). */
export interface InsertStmt {
  kind: 'insert';
  table: string;
  columns: string[] | null;
  rows: Expr[][];
}

/** UPDATE t SET c = e, … WHERE …. */
export interface UpdateStmt {
  kind: 'update';
  table: string;
  set: { column: string; expr: Expr }[];
  where: Expr | null;
}

/** DELETE FROM t WHERE …. */
export interface DeleteStmt {
  kind: 'delete';
  table: string;
  where: Expr | null;
}

/** DROP TABLE t. */
export interface DropStmt {
  kind: 'drop';
  table: string;
  ifExists: boolean;
}

/** Any supported statement. */
export type Stmt = SelectStmt | CreateStmt | InsertStmt | UpdateStmt | DeleteStmt | DropStmt;

/** A stable text key of an expression (structural equality: GROUP BY ↔ SELECT items). */
export function exprKey(e: Expr): string {
  return JSON.stringify(e);
}

/** Calls `fn` on `e` and every sub-expression. */
export function visit(e: Expr, fn: (x: Expr) => void): void {
  fn(e);
  switch (e.k) {
    case 'bin':
      visit(e.l, fn);
      visit(e.r, fn);
      return;
    case 'not':
    case 'neg':
    case 'isnull':
    case 'bucket':
      visit(e.e, fn);
      return;
    case 'in':
      visit(e.e, fn);
      for (const x of e.list) visit(x, fn);
      return;
    case 'between':
      visit(e.e, fn);
      visit(e.lo, fn);
      visit(e.hi, fn);
      return;
    case 'like':
      visit(e.e, fn);
      visit(e.pat, fn);
      return;
    case 'agg':
      if (e.arg !== null) visit(e.arg, fn);
      return;
    case 'fn':
      for (const x of e.args) visit(x, fn);
      return;
    default:
      return;
  }
}

/** True when `e` contains an aggregate. */
export function hasAgg(e: Expr): boolean {
  let found = false;
  visit(e, (x) => {
    if (x.k === 'agg') found = true;
  });
  return found;
}
