/** Reads from a running daemon's HTTP API (`--http URL`) for the CLI. */
import { LmjError, type ErrorCode } from '../errors.js';

/** GETs `path` from the daemon and returns the JSON body; HTTP errors become LmjError with the daemon's code. */
export async function getJson(base: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base.endsWith('/') ? base : `${base}/`));
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
    res = await fetch(new URL(path, base.endsWith('/') ? base : `${base}/`), { method: 'POST' });
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
