/**
 * `lmj-edge query --http URL`: one statement sent to a running daemon's or router's
 * `POST /query`. Prints the answer like `--data`; a partial answer of the router
 * (a data node did not answer) is printed, with the failed nodes on stderr.
 */
import type { QueryAnswer, QueryLimits, SqlValue } from '../query/index.js';
import { apiTokenHeaders } from './remote.js';

/** An error answer of the endpoint, printed as `lmj-edge: CODE: message`. */
export class RemoteQueryError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** POSTs the statement to `base`/query and resolves with the answer. */
export async function queryOverHttp(base: string, sql: string, params: readonly SqlValue[], limits: Partial<QueryLimits>): Promise<QueryAnswer> {
  let url: URL;
  try {
    url = new URL('/query', base);
  } catch {
    throw new RemoteQueryError('BAD_REQUEST', `--http must be a URL like http://127.0.0.1:8080, got ${JSON.stringify(base)}`);
  }
  const body = { sql, params, ...(limits.maxRows === undefined ? {} : { maxRows: limits.maxRows }), ...(limits.timeoutMs === undefined ? {} : { timeoutMs: limits.timeoutMs }) };
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...apiTokenHeaders() }, body: JSON.stringify(body) });
  } catch (err) {
    throw new RemoteQueryError('UNAVAILABLE', `cannot reach ${url.origin}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RemoteQueryError('BAD_RESPONSE', `${url.href} answered HTTP ${res.status} without JSON`);
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
    throw new RemoteQueryError(String(e?.code ?? `HTTP_${res.status}`), String(e?.message ?? `HTTP ${res.status}`));
  }
  return parsed as QueryAnswer;
}
