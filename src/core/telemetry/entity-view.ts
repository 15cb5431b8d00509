/** A generic, JSON-friendly view of any entity by pointer. */
import { LmjError } from '../../errors.js';
import type { ReadTxn } from '../types.js';
import type { EntityView } from './types.js';

/**
 * Members (object) or elements (set) of `ptr`: references as pointer hex, scalars
 * decoded, missing values and undecodable values listed in `errors`. Sets are cut at
 * `limit` elements (default 1,000). Throws INVALID_POINTER for a bad pointer.
 */
export function entityView(txn: ReadTxn, ptr: Uint8Array, limit?: number): EntityView {
  void txn; void ptr; void limit;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}
