/**
 * Expressions compiled to closures over a row (an array of values by slot). NULL
 * follows SQL: comparisons and arithmetic with NULL give NULL, AND/OR are
 * three-valued, WHERE/HAVING keep a row only when the condition is true.
 */
import { LmjError } from '../errors.js';
import { exprKey, type Expr } from './ast.js';
import type { SqlValue } from './types.js';
import { compareValues } from './values.js';

/** A compiled expression. */
export type Compiled = (row: readonly SqlValue[]) => SqlValue;

/** How names resolve while compiling. */
export interface Scope {
  /** Slot of a column (throws SQL_INVALID for an unknown one). */
  column(name: string): number;
  /** Slot holding a whole sub-expression's value (GROUP BY keys, aggregates), if any. */
  slotOf?(key: string, e: Expr): number | undefined;
  /** Why an aggregate is not allowed here (WHERE, GROUP BY). */
  noAggregate: string;
}

/** Context values: `$n` parameters and `now()`. */
export interface EvalContext {
  params: readonly SqlValue[];
  now: number;
}

/** SQL truth of a value: NULL stays NULL. */
export function truth(v: SqlValue): boolean | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const n = Number(v);
  return Number.isNaN(n) ? false : n !== 0;
}

function num(v: SqlValue): number | null {
  if (v === null) return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

/** LIKE pattern → RegExp (`%` any run, `_` one character; case-sensitive). */
export function likeRegExp(pattern: string): RegExp {
  let src = '';
  for (const ch of pattern) src += ch === '%' ? '[\\s\\S]*' : ch === '_' ? '[\\s\\S]' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${src}$`, 'u');
}

function compare(op: string, a: SqlValue, b: SqlValue): SqlValue {
  if (a === null || b === null) return null;
  const c = compareValues(a, b);
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function arith(op: string, a: SqlValue, b: SqlValue): SqlValue {
  const x = num(a);
  const y = num(b);
  if (x === null || y === null) return null;
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y === 0 ? null : x / y;
    default:
      return y === 0 ? null : x % y;
  }
}

function logic(op: string, l: Compiled, r: Compiled): Compiled {
  if (op === 'AND') {
    return (row) => {
      const a = truth(l(row));
      if (a === false) return false;
      const b = truth(r(row));
      if (b === false) return false;
      return a === null || b === null ? null : true;
    };
  }
  return (row) => {
    const a = truth(l(row));
    if (a === true) return true;
    const b = truth(r(row));
    if (b === true) return true;
    return a === null || b === null ? null : false;
  };
}

function scalarFn(name: string, args: Compiled[], ctx: EvalContext): Compiled {
  const [a, b] = args;
  const need = (n: number): void => {
    if (args.length !== n && !(name === 'round' && args.length === 1)) throw new LmjError('SQL_INVALID', `${name}() takes ${n} argument(s)`);
  };
  switch (name) {
    case 'now':
      need(0);
      return () => ctx.now;
    case 'abs':
      need(1);
      return (row) => {
        const v = num((a as Compiled)(row));
        return v === null ? null : Math.abs(v);
      };
    case 'round':
      need(2);
      return (row) => {
        const v = num((a as Compiled)(row));
        const d = b === undefined ? 0 : num(b(row));
        if (v === null || d === null) return null;
        // toFixed rounds the exact binary value half away from zero, as SQLite does.
        return Number(v.toFixed(Math.min(15, Math.max(0, Math.trunc(d)))));
      };
    case 'coalesce':
      if (args.length === 0) throw new LmjError('SQL_INVALID', 'coalesce() needs arguments');
      return (row) => {
        for (const f of args) {
          const v = f(row);
          if (v !== null) return v;
        }
        return null;
      };
    case 'length':
      need(1);
      return (row) => {
        const v = (a as Compiled)(row);
        return v === null ? null : String(v).length;
      };
    default:
      need(1);
      return (row) => {
        const v = (a as Compiled)(row);
        if (v === null) return null;
        return name === 'lower' ? String(v).toLowerCase() : String(v).toUpperCase();
      };
  }
}

function compileIn(x: Compiled, list: Compiled[], not: boolean): Compiled {
  return (row) => {
    const v = x(row);
    if (v === null) return null;
    let sawNull = false;
    for (const f of list) {
      const w = f(row);
      if (w === null) sawNull = true;
      else if (compareValues(v, w) === 0) return !not;
    }
    return sawNull ? null : not;
  };
}

function compileBetween(x: Compiled, lo: Compiled, hi: Compiled, not: boolean): Compiled {
  return (row) => {
    const v = x(row);
    const r = logic('AND', () => compare('>=', v, lo(row)), () => compare('<=', v, hi(row)))(row);
    return r === null ? null : not ? !r : r;
  };
}

function compileLike(x: Compiled, pat: Compiled, not: boolean): Compiled {
  const cache = new Map<string, RegExp>();
  return (row) => {
    const v = x(row);
    const p = pat(row);
    if (v === null || p === null) return null;
    const ps = String(p);
    let re = cache.get(ps);
    if (re === undefined) {
      re = likeRegExp(ps);
      if (cache.size < 64) cache.set(ps, re);
    }
    return re.test(String(v)) !== not;
  };
}

/** Compiles `e` in `scope`; throws SQL_INVALID for unknown columns, misplaced aggregates, bad parameters. */
export function compile(e: Expr, scope: Scope, ctx: EvalContext): Compiled {
  const slot = scope.slotOf?.(exprKey(e), e);
  if (slot !== undefined) return (row) => row[slot] ?? null;
  const c = (x: Expr): Compiled => compile(x, scope, ctx);
  switch (e.k) {
    case 'col': {
      const i = scope.column(e.name);
      return (row) => row[i] ?? null;
    }
    case 'lit': {
      const v = e.v;
      return () => v;
    }
    case 'param': {
      if (e.i < 1 || e.i > ctx.params.length) throw new LmjError('SQL_INVALID', `parameter $${e.i} has no value (${ctx.params.length} given)`);
      const v = ctx.params[e.i - 1] ?? null;
      return () => v;
    }
    case 'bin': {
      const l = c(e.l);
      const r = c(e.r);
      if (e.op === 'AND' || e.op === 'OR') return logic(e.op, l, r);
      const op = e.op;
      if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%') return (row) => arith(op, l(row), r(row));
      return (row) => compare(op, l(row), r(row));
    }
    case 'not': {
      const x = c(e.e);
      return (row) => {
        const t = truth(x(row));
        return t === null ? null : !t;
      };
    }
    case 'neg': {
      const x = c(e.e);
      return (row) => {
        const v = num(x(row));
        return v === null ? null : -v;
      };
    }
    case 'in':
      return compileIn(c(e.e), e.list.map(c), e.not);
    case 'between':
      return compileBetween(c(e.e), c(e.lo), c(e.hi), e.not);
    case 'like':
      return compileLike(c(e.e), c(e.pat), e.not);
    case 'isnull': {
      const x = c(e.e);
      const not = e.not;
      return (row) => (x(row) === null) !== not;
    }
    case 'bucket': {
      const x = c(e.e);
      const w = e.width;
      return (row) => {
        const v = num(x(row));
        return v === null ? null : Math.floor(v / w) * w;
      };
    }
    case 'fn':
      return scalarFn(e.name, e.args.map(c), ctx);
    case 'agg':
      throw new LmjError('SQL_INVALID', `aggregate ${e.fn}() is not allowed ${scope.noAggregate}`);
  }
}
