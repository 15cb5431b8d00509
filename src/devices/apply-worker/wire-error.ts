/**
 * Errors across the main thread ↔ apply-worker boundary: structured clone keeps neither
 * the class nor the cause chain, and the main thread classifies a failed device commit by
 * both (DISK_FULL vs DEVICE_UNAVAILABLE vs a message-level refusal). So the worker sends
 * the code, message and details, plus the first system code in the cause chain and
 * whether lmdb-js reported a failed commit; the main thread rebuilds an equivalent error.
 */
import { LmjError, isLmjError } from '../../errors.js';
import type { WireError } from './protocol.js';

/** The error as sent by the worker. */
export function toWire(err: unknown): WireError {
  let code: string | number | undefined;
  let commitFailed = false;
  const messages: string[] = [];
  for (let e: unknown = isLmjError(err) ? err.cause : err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const c = (e as { code?: unknown }).code;
    if (code === undefined && (typeof c === 'number' || (typeof c === 'string' && !isLmjError(e)))) code = c;
    if ((e as { commitError?: unknown }).commitError instanceof Promise) commitFailed = true;
    const m = (e as { message?: unknown }).message;
    messages.push(typeof m === 'string' ? m : String(e));
    e = (e as { cause?: unknown }).cause;
  }
  const cause = messages.length === 0 ? undefined : { ...(code === undefined ? {} : { code }), message: messages.join(': '), ...(commitFailed ? { commitFailed } : {}) };
  if (isLmjError(err)) return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), ...(cause === undefined ? {} : { cause }) };
  const message = String((err as { message?: unknown } | null)?.message ?? err);
  return { code: 'STORE_IO', message, ...(cause === undefined ? {} : { cause }) };
}

/** The worker's error rebuilt on the main thread, its cause carrying the system code (and lmdb-js's failed-commit mark). */
export function fromWire(w: WireError): LmjError {
  let cause: Error | undefined;
  if (w.cause !== undefined) {
    cause = Object.assign(new Error(w.cause.message), w.cause.code === undefined ? {} : { code: w.cause.code });
    // isDiskError (src/gateway/disk-guard.ts) treats lmdb-js's failed commit as a disk error by this property.
    if (w.cause.commitFailed === true) Object.assign(cause, { commitError: Promise.resolve() });
  }
  return new LmjError(w.code, w.message, { ...(w.details === undefined ? {} : { details: w.details }), ...(cause === undefined ? {} : { cause }) });
}
