/**
 * lmdb-js failures as the engine sees them: LMDB return codes, the map-full
 * condition that triggers map growth, and the mapping to LmjError (cause kept).
 */
import { LmjError } from '../errors.js';

// LMDB return codes lmdb-js puts in `error.code`.
/** LMDB MDB_MAP_FULL. */
export const MDB_MAP_FULL = -30792;
const MDB_BAD_TXN = -30782;
const CORRUPT_CODES = new Set([-30796, -30797, -30793, -30794]);

/** The LMDB return code of an lmdb-js error, when it carries one. */
export function lmdbCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  // A failure of the native member writes ({@link lmdbFailure}) carries it in its details.
  if (error instanceof LmjError && typeof error.details?.['lmdb'] === 'number') return error.details['lmdb'] as number;
  const m = /MDB_[A-Z_]+/.exec((error as Error | null)?.message ?? '');
  if (m?.[0] === 'MDB_MAP_FULL') return MDB_MAP_FULL;
  return undefined;
}

/** True for the errors lmdb-js raises when a write transaction ran out of map. */
export function isMapFull(error: unknown): boolean {
  const code = lmdbCode(error);
  // lmdb-js reports MAP_FULL on the failing put, then BAD_TXN on every later call.
  return code === MDB_MAP_FULL || code === MDB_BAD_TXN;
}

/** An lmdb failure as an LmjError (cause kept); our own and the caller's errors unchanged. */
export function wrapError(error: unknown): unknown {
  if (error instanceof LmjError) return error;
  const code = lmdbCode(error);
  if (code === undefined || !(error instanceof Error)) return error;
  if (CORRUPT_CODES.has(code)) return new LmjError('STORE_CORRUPT', error.message, { cause: error, details: { lmdb: code } });
  return new LmjError('STORE_IO', error.message, { cause: error, details: { lmdb: code } });
}

/**
 * A liblmdb return code from the addon's native writes as an LmjError: STORE_CORRUPT for
 * the corruption codes, else STORE_IO; `details.lmdb` holds an LMDB code (negative),
 * `details.errno` a system errno (positive). `message` is liblmdb's text for it.
 */
export function lmdbFailure(rc: number, message: string): LmjError {
  if (rc > 0) return new LmjError('STORE_IO', message, { details: { errno: rc } });
  return new LmjError(CORRUPT_CODES.has(rc) ? 'STORE_CORRUPT' : 'STORE_IO', message, { details: { lmdb: rc } });
}

/**
 * The real cause of a failed lmdb-js async commit. lmdb-js rejects every caller of a
 * failed commit with a generic "Commit failed" whose `commitError` promise rejects with
 * the cause (ENOSPC, EIO, EROFS, …); nothing else holds that promise, so left alone its
 * rejection is unhandled and takes the process down. This handles it and returns a
 * STORE_IO LmjError naming the cause (kept as `cause`, its errno in `details.errno`), or
 * `error` itself when it is not such a failure or the cause does not come within the
 * turn (lmdb-js rejects both in the same callback).
 */
export async function commitFailure(error: unknown): Promise<unknown> {
  const inner = (error as { commitError?: unknown } | null)?.commitError;
  if (!(inner instanceof Promise)) return error;
  const cause = await Promise.race([
    inner.then(() => undefined, (e: unknown) => e),
    new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined))),
  ]);
  if (cause === undefined) return error;
  const { message, code } = cause as { message?: unknown; code?: unknown };
  return new LmjError('STORE_IO', `commit failed: ${typeof message === 'string' ? message : String(cause)}`, {
    cause,
    details: code === undefined ? {} : { errno: code },
  });
}

/** `commit` (an lmdb-js async transaction) with a failed commit's cause handled and named ({@link commitFailure}). */
export function committed<T>(commit: Promise<T>): Promise<T> {
  return commit.catch(async (error: unknown) => {
    throw await commitFailure(error);
  });
}
