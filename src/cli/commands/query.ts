/**
 * `lmj-edge query "SQL" --data DIR | --http URL [--format table|csv|json] [--param V]…`:
 * one SQL statement over a data directory (docs/query.md) or sent to a daemon's or
 * router's `POST /query`. `--data` reads device instances read-only beside a running
 * daemon; pseudo-table statements write DIR/tables.
 */
import type { Command } from 'commander';
import { LmjError } from '../../errors.js';
import type { OutputFormat, QueryLimits, SqlValue } from '../../query/index.js';
import { fail } from '../output.js';
import { RemoteQueryError, queryOverHttp } from '../query-http.js';

interface Flags {
  data?: string;
  http?: string;
  format: string;
  param: string[];
  maxRows?: string;
  timeout?: string;
}

/** A `--param` value: JSON (numbers, true/false/null, "quoted text"), else the text as is. */
function paramValue(text: string): SqlValue {
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  } catch {
    // Not JSON: plain text.
  }
  return text;
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new LmjError('BAD_REQUEST', `${name} must be a positive integer`);
  return n;
}

/** Adds the `query` command. */
export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('run one SQL statement over the telemetry views (readings, latest, devices) and pseudo-tables')
    .argument('<sql>', 'the statement, e.g. "SELECT device, avg(temp) FROM readings GROUP BY device"')
    .option('--data <dir>', 'data directory to query')
    .option('--http <url>', 'send the statement to a daemon or router, e.g. http://127.0.0.1:8080')
    .option('--format <format>', 'table, csv or json ({columns, rows})', 'table')
    .option('--param <value>', 'value of $1, $2, … (repeat; JSON or text)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--max-rows <n>', 'largest answer (default 10000)')
    .option('--timeout <ms>', 'time budget in ms (default 30000)')
    .action(async (sql: string, flags: Flags) => {
      try {
        if ((flags.data === undefined) === (flags.http === undefined)) throw new LmjError('BAD_REQUEST', 'give either --data DIR or --http URL');
        if (!['table', 'csv', 'json'].includes(flags.format)) throw new LmjError('BAD_REQUEST', '--format must be table, csv or json');
        const limits: Partial<QueryLimits> = {};
        const maxRows = positive('--max-rows', flags.maxRows);
        const timeout = positive('--timeout', flags.timeout);
        if (maxRows !== undefined) limits.maxRows = maxRows;
        if (timeout !== undefined) limits.timeoutMs = timeout;
        const params = flags.param.map(paramValue);
        // Loaded on use: the SQL parser costs ~0.7 s of CPU to load, which every other
        // command would pay at start (measured on the 2-core machine).
        const { dataDirSource, formatResult, runQuery } = await import('../../query/index.js');
        if (flags.http !== undefined) {
          const answer = await queryOverHttp(flags.http, sql, params, limits);
          for (const f of answer.failed ?? []) process.stderr.write(`lmj-edge: partial answer: node ${f.node} failed: ${f.error.code}: ${f.error.message}\n`);
          process.stdout.write(formatResult(answer, flags.format as OutputFormat));
          return;
        }
        const source = dataDirSource(flags.data as string);
        try {
          const result = await runQuery(source, sql, { params, limits });
          process.stdout.write(formatResult(result, flags.format as OutputFormat));
        } finally {
          await source.close();
        }
      } catch (err) {
        if (err instanceof RemoteQueryError) {
          process.stderr.write(`lmj-edge: ${err.code}: ${err.message}\n`);
          process.exit(1);
        }
        fail(err);
      }
    });
}
