/** Errors that name a position in the SQL text (line, column, offset). */
import { LmjError, type ErrorCode } from '../errors.js';

/** A place in the SQL text; offset is 0-based, line and column 1-based. */
export interface SqlPosition {
  offset: number;
  line: number;
  column: number;
}

/** The position of a 0-based offset in `sql`. */
export function positionAt(sql: string, offset: number): SqlPosition {
  const before = sql.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { offset, line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
}

/**
 * The position of the first occurrence of `word` (a keyword or name, whole word,
 * case-insensitive) at or after `fromOffset`, outside string literals; the statement
 * start when absent.
 * node-sql-parser's AST carries locations only for some nodes, so a refused feature
 * is located by its keyword in the text.
 */
export function findWord(sql: string, word: string, fromOffset = 0): SqlPosition {
  const masked = ' '.repeat(fromOffset) + sql.slice(fromOffset).replace(/'(?:[^']|'')*'/g, (m) => ' '.repeat(m.length));
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(^|[^A-Za-z0-9_"])(${escaped})(?![A-Za-z0-9_])`, 'i').exec(masked);
  return positionAt(sql, m === null ? 0 : m.index + (m[1]?.length ?? 0));
}

/** An {@link LmjError} whose message ends with "at line L, column C". */
export function sqlError(code: ErrorCode, reason: string, pos: SqlPosition, details: Record<string, unknown> = {}): LmjError {
  return new LmjError(code, `${reason} at line ${pos.line}, column ${pos.column}`, { details: { ...details, position: pos } });
}
