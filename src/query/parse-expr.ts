/**
 * node-sql-parser expression nodes → {@link Expr}. Anything outside the supported
 * subset is refused with SQL_UNSUPPORTED naming the construct and its position.
 */
import type { AggFn, Expr, Fill } from './ast.js';
import { findWord, positionAt, sqlError, type SqlPosition } from './position.js';

// node-sql-parser's AST is loosely typed; we read it field by field and check shapes.
type Node = Record<string, unknown>;

const COMPARE = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const ARITH = new Set(['+', '-', '*', '/', '%']);
const AGGS = new Set<AggFn>(['count', 'sum', 'avg', 'min', 'max', 'first', 'last']);
/** Scalar functions besides time_bucket. */
const SCALARS = new Set(['abs', 'round', 'coalesce', 'lower', 'upper', 'length', 'now']);
const UNITS: Record<string, number> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, second: 1000, seconds: 1000,
  m: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

/** Converts expressions of one statement; `sql` is kept to locate errors. */
export class ExprReader {
  constructor(readonly sql: string) {}

  /**
   * Position of `word` at or after the node's own location when the parser gave one
   * (binary expressions), else of its first occurrence.
   */
  pos(node: Node | undefined, word: string): SqlPosition {
    const loc = node?.['loc'] as { start?: { offset?: number } } | undefined;
    const from = typeof loc?.start?.offset === 'number' ? loc.start.offset : 0;
    const found = findWord(this.sql, word, from);
    return found.offset === 0 && from > 0 ? positionAt(this.sql, from) : found;
  }

  unsupported(what: string, node: Node | undefined, word = what): never {
    throw sqlError('SQL_UNSUPPORTED', `${what} is not supported`, this.pos(node, word), { feature: what });
  }

  invalid(reason: string, node: Node | undefined, word: string): never {
    throw sqlError('SQL_INVALID', reason, this.pos(node, word));
  }

  /** A column name from a column_ref (bare or double-quoted; `t.c` only for the FROM table). */
  columnName(node: Node, table: string | null): string {
    const col = node['column'];
    const name = typeof col === 'string' ? col : String(((col as Node)?.['expr'] as Node)?.['value'] ?? '');
    const qualifier = node['table'];
    if (qualifier !== null && qualifier !== undefined && qualifier !== table) {
      this.unsupported(`table qualifier ${String(qualifier)}`, node, String(qualifier));
    }
    if (name === '*') this.unsupported('* outside SELECT list and count(*)', node, '*');
    return name;
  }

  expr(node: unknown, table: string | null): Expr {
    const n = node as Node;
    switch (n['type']) {
      case 'column_ref':
        return { k: 'col', name: this.columnName(n, table) };
      case 'number':
      case 'bigint':
        return { k: 'lit', v: Number(n['value']) };
      case 'single_quote_string':
      case 'string':
        return { k: 'lit', v: String(n['value']) };
      case 'bool':
        return { k: 'lit', v: n['value'] === true };
      case 'null':
        return { k: 'lit', v: null };
      case 'var':
        if (n['prefix'] === '$' && typeof n['name'] === 'number') return { k: 'param', i: n['name'] };
        return this.unsupported('variable', n, String(n['prefix'] ?? '@'));
      case 'binary_expr':
        return this.binary(n, table);
      case 'unary_expr':
        if (n['operator'] === 'NOT') return { k: 'not', e: this.expr(n['expr'], table) };
        if (n['operator'] === '-') return { k: 'neg', e: this.expr(n['expr'], table) };
        return this.unsupported(`operator ${String(n['operator'])}`, n, String(n['operator']));
      case 'aggr_func':
        return this.aggregate(n, table);
      case 'function':
        return this.func(n, table);
      case 'window_func':
        return this.unsupported('window function (OVER)', n, String(n['name']));
      default:
        if (n['ast'] !== undefined) return this.unsupported('subquery', n, 'SELECT');
        return this.unsupported(`expression ${String(n['type'])}`, n, this.wordOf(n));
    }
  }

  private wordOf(n: Node): string {
    const t = String(n['type']);
    if (t === 'case') return 'CASE';
    if (t === 'cast') return 'CAST';
    if (t === 'interval') return 'INTERVAL';
    return t;
  }

  private binary(n: Node, table: string | null): Expr {
    const op = String(n['operator']);
    const l = this.expr(n['left'], table);
    if (op === 'AND' || op === 'OR' || COMPARE.has(op) || ARITH.has(op)) {
      return { k: 'bin', op: op === '!=' ? '<>' : op, l, r: this.expr(n['right'], table) };
    }
    if (op === 'IN' || op === 'NOT IN') {
      const right = n['right'] as Node;
      const items = right['value'] as Node[] | undefined;
      if (right['type'] !== 'expr_list' || items?.some((x) => x['ast'] !== undefined)) this.unsupported('IN (subquery)', n, 'IN');
      const list = (right['value'] as unknown[]).map((x) => this.expr(x, table));
      return { k: 'in', e: l, list, not: op === 'NOT IN' };
    }
    if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
      const [lo, hi] = (n['right'] as Node)['value'] as unknown[];
      return { k: 'between', e: l, lo: this.expr(lo, table), hi: this.expr(hi, table), not: op === 'NOT BETWEEN' };
    }
    if (op === 'LIKE' || op === 'NOT LIKE') return { k: 'like', e: l, pat: this.expr(n['right'], table), not: op === 'NOT LIKE' };
    if (op === 'IS' || op === 'IS NOT') {
      if ((n['right'] as Node)['type'] !== 'null') this.unsupported(`${op} other than ${op} NULL`, n, 'IS');
      return { k: 'isnull', e: l, not: op === 'IS NOT' };
    }
    return this.unsupported(`operator ${op}`, n, op.split(' ')[0] ?? op);
  }

  private aggregate(n: Node, table: string | null): Expr {
    const fn = String(n['name']).toLowerCase() as AggFn;
    if (!AGGS.has(fn)) this.unsupported(`aggregate ${fn}`, n, fn);
    if (n['over'] !== null && n['over'] !== undefined) this.unsupported('window function (OVER)', n, 'OVER');
    const args = n['args'] as Node;
    if (args['distinct'] !== null && args['distinct'] !== undefined) this.unsupported(`${fn}(DISTINCT …)`, n, 'DISTINCT');
    if (args['orderby'] !== null && args['orderby'] !== undefined) this.unsupported(`ORDER BY inside ${fn}()`, n, fn);
    const arg = args['expr'] as Node;
    if (arg['type'] === 'star') {
      if (fn !== 'count') this.invalid(`${fn}(*) is not a valid aggregate`, n, fn);
      return { k: 'agg', fn, arg: null };
    }
    return { k: 'agg', fn, arg: this.expr(arg, table) };
  }

  private func(n: Node, table: string | null): Expr {
    const parts = ((n['name'] as Node)['name'] as Node[]).map((p) => String(p['value']));
    const name = (parts[parts.length - 1] ?? '').toLowerCase();
    if (n['over'] !== null && n['over'] !== undefined) this.unsupported('window function (OVER)', n, 'OVER');
    const argNodes = ((n['args'] as Node | undefined)?.['value'] as unknown[] | undefined) ?? [];
    if (name === 'first' || name === 'last') {
      if (argNodes.length !== 1) this.invalid(`${name}() takes one argument`, n, name);
      return { k: 'agg', fn: name, arg: this.expr(argNodes[0], table) };
    }
    if (name === 'time_bucket') return this.bucket(n, argNodes, table);
    // `NOT (a = b)` reaches us as a call of `not`.
    if (name === 'not' && argNodes.length === 1) return { k: 'not', e: this.expr(argNodes[0], table) };
    if (!SCALARS.has(name)) this.unsupported(`function ${name}()`, n, name);
    return { k: 'fn', name, args: argNodes.map((a) => this.expr(a, table)) };
  }

  /** `time_bucket('<n> <unit>', ts [, fill])`; fill is 'null', 'prev' or a number. */
  private bucket(n: Node, args: unknown[], table: string | null): Expr {
    if (args.length < 2 || args.length > 3) this.invalid("time_bucket takes ('<n> <unit>', ts [, fill])", n, 'time_bucket');
    const width = this.width(args[0] as Node, n);
    const e = this.expr(args[1], table);
    let fill: Fill | null = null;
    const f = args[2] as Node | undefined;
    if (f !== undefined) {
      if (f['type'] === 'number') fill = { kind: 'value', value: Number(f['value']) };
      else if (f['type'] === 'single_quote_string' && String(f['value']).toLowerCase() === 'null') fill = { kind: 'null' };
      else if (f['type'] === 'single_quote_string' && String(f['value']).toLowerCase() === 'prev') fill = { kind: 'prev' };
      else this.invalid("time_bucket fill must be 'null', 'prev' or a number", n, 'time_bucket');
    }
    return { k: 'bucket', width, e, fill };
  }

  private width(a: Node, n: Node): number {
    if (a['type'] === 'number' && Number.isSafeInteger(Number(a['value'])) && Number(a['value']) > 0) return Number(a['value']);
    const m = a['type'] === 'single_quote_string' ? /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(String(a['value'])) : null;
    const unit = m === null ? undefined : UNITS[(m[2] ?? '').toLowerCase()];
    if (m === null || unit === undefined || Number(m[1]) <= 0) {
      return this.invalid("time_bucket width must be like '1 minute' (ms, s, m, h, d) or a number of ms", n, 'time_bucket');
    }
    return Number(m[1]) * unit;
  }
}
