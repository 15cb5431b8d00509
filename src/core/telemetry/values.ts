/** Decoding stored member values (canonical CBOR scalars) into JSON values. */
import { LmjError } from '../../errors.js';
import type { JsonValue } from './types.js';

/**
 * Decodes one canonical CBOR scalar as written by the codec: ints, float64, text,
 * byte strings (→ `{"$bytes": base64}`), true/false/null, undefined (→ null), empty
 * map/array. Integers beyond ±(2^53−1) → `{"$int": "<decimal>"}`. Throws INVALID_PARAM
 * for anything else.
 */
export function decodeValue(value: Uint8Array): JsonValue {
  void value;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}
