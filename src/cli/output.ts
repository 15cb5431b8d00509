/** Shared CLI output helpers: errors to stderr with stable codes, JSON or tables to stdout. */
import { isLmjError } from '../errors.js';

/** Prints `lmj-edge: <CODE>: message` to stderr and exits with `code`. */
export function fail(err: unknown, code = 1): never {
  if (isLmjError(err)) {
    process.stderr.write(`lmj-edge: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`lmj-edge: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(code);
}

/** Prints a value as pretty JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned text table. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${line(header)}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
