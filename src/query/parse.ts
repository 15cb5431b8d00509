/**
 * SQL text → {@link Stmt}: node-sql-parser (PostgreSQL dialect) does the parsing; this
 * file maps its AST onto the supported subset and refuses everything else with its
 * name and position (docs/query.md).
 */
import sqlParser from 'node-sql-parser';
import type { ColumnDef, ColumnType, Expr, SelectItem, SelectStmt, Stmt } from './ast.js';
import { ExprReader } from './parse-expr.js';
import { findWord, positionAt, sqlError } from './position.js';

type Node = Record<string, unknown>;

const parser = new sqlParser.Parser();
const OPTIONS = { database: 'postgresql', parseOptions: { includeLocations: true } };
const TYPES: Record<string, ColumnType> = {
  INT: 'int', INTEGER: 'int', BIGINT: 'int', SMALLINT: 'int',
  REAL: 'real', FLOAT: 'real', DOUBLE: 'real', NUMERIC: 'real', DECIMAL: 'real',
  TEXT: 'text', VARCHAR: 'text', CHAR: 'text', STRING: 'text',
  BOOL: 'bool', BOOLEAN: 'bool',
};

/** Parsed statements by text: node-sql-parser takes milliseconds per statement, a dashboard repeats them. */
const cache = new Map<string, Stmt>();
const CACHE_SIZE = 256;

/** Parses one statement (cached by text; statements are never mutated); `EXPLAIN` in front of a SELECT asks for its plan. */
export function parseSql(sql: string): Stmt {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  const stmt = parseUncached(sql);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(sql, stmt);
  return stmt;
}

function parseUncached(sql: string): Stmt {
  const explain = /^\s*explain\s+/i.exec(sql);
  // EXPLAIN is not in node-sql-parser's grammar: blank it out, keeping offsets.
  const text = explain === null ? sql : ' '.repeat(explain[0].length) + sql.slice(explain[0].length);
  let ast: unknown;
  try {
    ast = parser.astify(text, OPTIONS);
  } catch (err) {
    const e = err as { message?: string; location?: { start?: { offset?: number } } };
    const offset = e.location?.start?.offset ?? 0;
    throw sqlError('SQL_SYNTAX', `syntax error: ${(e.message ?? 'unparsable').slice(0, 300)}`, positionAt(sql, offset));
  }
  const list = Array.isArray(ast) ? ast : [ast];
  if (list.length !== 1) throw sqlError('SQL_UNSUPPORTED', 'more than one statement is not supported', findWord(sql, ';'));
  const node = list[0] as Node;
  const r = new ExprReader(sql);
  if (explain !== null && node['type'] !== 'select') r.unsupported(`EXPLAIN ${String(node['type']).toUpperCase()}`, undefined, 'EXPLAIN');
  switch (node['type']) {
    case 'select':
      return select(r, node, explain !== null);
    case 'create':
      return create(r, node);
    case 'insert':
      return insert(r, node);
    case 'update':
      return update(r, node);
    case 'delete':
      return remove(r, node);
    case 'drop':
      if (node['keyword'] !== 'table') r.unsupported(`DROP ${String(node['keyword']).toUpperCase()}`, undefined, 'DROP');
      return { kind: 'drop', table: oneTable(r, node['name']), ifExists: /\bif\s+exists\b/i.test(sql) };
    default:
      return r.unsupported(`statement ${String(node['type']).toUpperCase()}`, undefined, String(node['type']));
  }
}

function oneTable(r: ExprReader, from: unknown): string {
  const list = (from as Node[] | null) ?? [];
  const first = list[0];
  if (first === undefined) r.unsupported('a statement without a table', undefined, 'SELECT');
  const second = list[1];
  if (second !== undefined && typeof second['join'] === 'string') r.unsupported(second['join'], undefined, 'JOIN');
  if (second !== undefined) r.unsupported('more than one table', undefined, ',');
  if (first['join'] !== undefined && first['join'] !== null) r.unsupported(String(first['join']), undefined, 'JOIN');
  if (first['expr'] !== undefined && first['expr'] !== null) r.unsupported('subquery in FROM', undefined, '(');
  if (first['db'] !== null && first['db'] !== undefined) r.unsupported(`schema-qualified table ${String(first['db'])}`, undefined, String(first['db']));
  return String(first['table']);
}

function nonNegativeInt(r: ExprReader, node: Node | undefined, word: string): number {
  const v = node?.['type'] === 'number' ? Number(node['value']) : NaN;
  if (!Number.isSafeInteger(v) || v < 0) r.invalid(`${word} must be a non-negative integer`, node, word);
  return v;
}

function exprText(sql: string, item: Node, e: Expr): string {
  const loc = (item['expr'] as Node)['loc'] as { start: { offset: number }; end: { offset: number } } | undefined;
  if (loc !== undefined) return sql.slice(loc.start.offset, loc.end.offset).trim();
  if (e.k === 'col') return e.name;
  if (e.k === 'agg') return e.arg === null ? `${e.fn}(*)` : e.arg.k === 'col' ? `${e.fn}(${e.arg.name})` : e.fn;
  if (e.k === 'bucket') return 'time_bucket';
  if (e.k === 'fn') return e.name;
  return '?column?';
}

function select(r: ExprReader, n: Node, explain: boolean): SelectStmt {
  if (n['with'] !== null && n['with'] !== undefined) r.unsupported('WITH', undefined, 'WITH');
  if (n['_next'] !== undefined && n['_next'] !== null) r.unsupported(String(n['set_op'] ?? 'UNION').toUpperCase(), undefined, String(n['set_op'] ?? 'UNION'));
  if ((n['distinct'] as Node | null)?.['type'] !== null && n['distinct'] !== null && n['distinct'] !== undefined) r.unsupported('DISTINCT', undefined, 'DISTINCT');
  if (n['window'] !== null && n['window'] !== undefined) r.unsupported('WINDOW', undefined, 'WINDOW');
  if ((n['into'] as Node | null)?.['position'] !== null && n['into'] !== undefined) r.unsupported('SELECT INTO', undefined, 'INTO');
  const from = oneTable(r, n['from']);
  let star = false;
  const items: SelectItem[] = [];
  const columns = n['columns'] as Node[] | string;
  for (const c of Array.isArray(columns) ? columns : [{ expr: { type: 'column_ref', column: '*' } } as Node]) {
    const ce = c['expr'] as Node;
    if (ce['type'] === 'column_ref' && (ce['column'] === '*' || ((ce['column'] as Node)?.['expr'] as Node)?.['value'] === '*')) {
      if (items.length > 0 || star) r.unsupported('* together with other select items', undefined, '*');
      star = true;
      continue;
    }
    if (star) r.unsupported('* together with other select items', undefined, '*');
    const expr = r.expr(ce, from);
    const alias = typeof c['as'] === 'string' ? c['as'] : null;
    items.push({ expr, alias, name: alias ?? exprText(r.sql, c, expr) });
  }
  const groupBy = ((n['groupby'] as Node | null)?.['columns'] as unknown[] | null | undefined) ?? [];
  const order = (n['orderby'] as Node[] | null) ?? [];
  const limitValues = ((n['limit'] as Node | null)?.['value'] as Node[] | undefined) ?? [];
  const sep = (n['limit'] as Node | null)?.['seperator'];
  let limit: number | null = null;
  let offset = 0;
  if (limitValues.length === 1) limit = nonNegativeInt(r, limitValues[0], 'LIMIT');
  if (limitValues.length === 2) {
    // `LIMIT a OFFSET b`, or MySQL's `LIMIT b, a`.
    const [a, b] = sep === ',' ? [limitValues[1], limitValues[0]] : [limitValues[0], limitValues[1]];
    limit = nonNegativeInt(r, a, 'LIMIT');
    offset = nonNegativeInt(r, b, 'OFFSET');
  }
  return {
    kind: 'select',
    explain,
    star,
    items,
    from,
    where: n['where'] === null || n['where'] === undefined ? null : r.expr(n['where'], from),
    groupBy: groupBy.map((g) => r.expr(g, from)),
    having: n['having'] === null || n['having'] === undefined ? null : r.expr(n['having'], from),
    orderBy: order.map((o) => ({ expr: r.expr(o['expr'], from), desc: o['type'] === 'DESC' })),
    limit,
    offset,
  };
}

function create(r: ExprReader, n: Node): Stmt {
  if (n['keyword'] !== 'table') r.unsupported(`CREATE ${String(n['keyword']).toUpperCase()}`, undefined, 'CREATE');
  if (n['temporary'] !== null && n['temporary'] !== undefined) r.unsupported('TEMPORARY', undefined, 'TEMPORARY');
  if (n['query_expr'] !== null && n['query_expr'] !== undefined) r.unsupported('CREATE TABLE … AS', undefined, 'AS');
  const table = oneTable(r, n['table']);
  const columns: ColumnDef[] = [];
  let primaryKey: string | null = null;
  for (const d of (n['create_definitions'] as Node[] | null) ?? []) {
    if (d['resource'] === 'constraint' && String(d['constraint_type']).toLowerCase() === 'primary key') {
      const defs = (d['definition'] as Node[]) ?? [];
      if (defs.length !== 1 || primaryKey !== null) r.unsupported('a primary key of other than one column', undefined, 'PRIMARY');
      primaryKey = r.columnName(defs[0] as Node, null);
      continue;
    }
    if (d['resource'] !== 'column') r.unsupported(`${String(d['resource'])} definition`, undefined, String(d['constraint_type'] ?? d['resource']));
    const name = r.columnName(d['column'] as Node, null);
    const dataType = String((d['definition'] as Node)['dataType']).toUpperCase();
    const type = TYPES[dataType];
    if (type === undefined) r.unsupported(`column type ${dataType}`, undefined, dataType);
    for (const k of ['default_val', 'unique', 'check', 'reference_definition', 'auto_increment']) {
      if (d[k] !== null && d[k] !== undefined) r.unsupported(`column ${k.replace('_val', '').replace('_definition', 's')}`, undefined, k.split('_')[0] ?? k);
    }
    const isPk = d['primary_key'] !== null && d['primary_key'] !== undefined;
    if (isPk) {
      if (primaryKey !== null) r.unsupported('a primary key of other than one column', undefined, 'PRIMARY');
      primaryKey = name;
    }
    if (columns.some((c) => c.name === name)) r.invalid(`column ${name} defined twice`, undefined, name);
    columns.push({ name, type, notNull: isPk || (d['nullable'] as Node | null)?.['type'] === 'not null' });
  }
  if (primaryKey !== null) {
    const pk = columns.find((c) => c.name === primaryKey);
    if (pk === undefined) r.invalid(`primary key ${primaryKey} is not a column`, undefined, primaryKey);
    pk.notNull = true;
  }
  if (columns.length === 0) r.invalid('a table needs at least one column', undefined, table);
  return { kind: 'create', table, columns, primaryKey, ifNotExists: n['if_not_exists'] !== null && n['if_not_exists'] !== undefined };
}

function insert(r: ExprReader, n: Node): Stmt {
  const table = oneTable(r, n['table']);
  const values = n['values'] as Node | null;
  if (values?.['type'] !== 'values') r.unsupported('INSERT … SELECT', undefined, 'SELECT');
  for (const k of ['conflict', 'returning', 'on_duplicate_update']) {
    if (n[k] !== null && n[k] !== undefined) r.unsupported(k === 'returning' ? 'RETURNING' : 'ON CONFLICT', undefined, k === 'returning' ? 'RETURNING' : 'ON');
  }
  const cols = (n['columns'] as (Node | string)[] | null)?.map((c) => (typeof c === 'string' ? c : String(c['value']))) ?? null;
  const rows = (values['values'] as Node[]).map((row) => (row['value'] as unknown[]).map((v) => r.expr(v, table)));
  return { kind: 'insert', table, columns: cols, rows };
}

function update(r: ExprReader, n: Node): Stmt {
  const table = oneTable(r, n['table']);
  if (n['from'] !== null && n['from'] !== undefined) r.unsupported('UPDATE … FROM', undefined, 'FROM');
  if (n['returning'] !== null && n['returning'] !== undefined) r.unsupported('RETURNING', undefined, 'RETURNING');
  const set = (n['set'] as Node[]).map((s) => ({ column: r.columnName(s, table), expr: r.expr(s['value'], table) }));
  return { kind: 'update', table, set, where: n['where'] === null || n['where'] === undefined ? null : r.expr(n['where'], table) };
}

function remove(r: ExprReader, n: Node): Stmt {
  const table = oneTable(r, n['from']);
  if (n['returning'] !== null && n['returning'] !== undefined) r.unsupported('RETURNING', undefined, 'RETURNING');
  return { kind: 'delete', table, where: n['where'] === null || n['where'] === undefined ? null : r.expr(n['where'], table) };
}
