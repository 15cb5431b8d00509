/** Printing an answer as an aligned table, CSV (RFC 4180) or JSON `{columns, rows}`. */
import type { QueryResult, SqlValue } from './types.js';

/** Output formats of `lmj-edge query`. */
export type OutputFormat = 'table' | 'csv' | 'json';

function cell(v: SqlValue): string {
  return v === null ? 'NULL' : String(v);
}

function csvCell(v: SqlValue): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The answer as text in `format` (ends with a newline). */
export function formatResult(r: Pick<QueryResult, 'columns' | 'rows'>, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify({ columns: r.columns, rows: r.rows })}\n`;
  const header = r.columns.map((c) => c.name);
  if (format === 'csv') return [header.map(csvCell), ...r.rows.map((row) => row.map(csvCell))].map((l) => l.join(',')).join('\r\n') + '\r\n';
  const cells = r.rows.map((row) => row.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (cs: readonly string[]): string => cs.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...cells.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
