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
