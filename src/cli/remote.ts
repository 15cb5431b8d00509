/**
 * Reads from a running daemon's HTTP API (`--http URL`) for the CLI. With
 * `LMJ_EDGE_API_TOKEN` set, every request carries it as `authorization: Bearer` (an env
 * var, so the token stays out of `ps`).
 */
import { LmjError, type ErrorCode } from '../errors.js';

/** The API token header of `LMJ_EDGE_API_TOKEN`, or none. */
export function apiTokenHeaders(): Record<string, string> {
  const token = process.env.LMJ_EDGE_API_TOKEN;
  return token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` };
}

/** GETs `path` from the daemon and returns the JSON body; HTTP errors become LmjError with the daemon's code. */
export async function getJson(base: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base.endsWith('/') ? base : `${base}/`), { headers: apiTokenHeaders() });
  } catch (err) {
    throw new LmjError('UPSTREAM_FAILED', `cannot reach ${base}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    const code = (body?.error?.code ?? 'UPSTREAM_FAILED') as ErrorCode;
    throw new LmjError(code, body?.error?.message ?? `HTTP ${res.status}`);
  }
  return body;
}

/** POSTs to `path` on the daemon (no body) and returns the JSON answer; errors as {@link getJson}. */
export async function postJson(base: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base.endsWith('/') ? base : `${base}/`), { method: 'POST', headers: apiTokenHeaders() });
  } catch (err) {
    throw new LmjError('UPSTREAM_FAILED', `cannot reach ${base}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    const code = (body?.error?.code ?? 'UPSTREAM_FAILED') as ErrorCode;
    throw new LmjError(code, body?.error?.message ?? `HTTP ${res.status}`);
  }
  return body;
}
