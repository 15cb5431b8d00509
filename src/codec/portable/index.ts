/**
 * The portable codec: pure TypeScript, byte-identical to the native addon.
 * Used when the addon is not built (no compiler) and as the reference in tests.
 */
import { LmjError } from '../../errors.js';
import { checkPayload, formatCode, resolveLimits } from '../limits.js';
import type { Codec, EntityType, FlattenLimits, FlattenOutcome, Flattened, PayloadFormat } from '../types.js';
import { flattenPortable } from './flatten.js';
import { PointerGenerator, formatPointer, parsePointer, partitionOf } from './pointer.js';

/** The process's one pointer generator, shared by both codecs (docs/codec.md §1). */
export const processPointers = new PointerGenerator();

function flatten(payload: Uint8Array, format?: PayloadFormat, limits?: Partial<FlattenLimits>): Flattened {
  checkPayload(payload);
  return flattenPortable(payload, formatCode(format), resolveLimits(limits));
}

function flattenBatch(payloads: readonly Uint8Array[], format?: PayloadFormat, limits?: Partial<FlattenLimits>): FlattenOutcome[] {
  const code = formatCode(format);
  const resolved = resolveLimits(limits);
  return payloads.map((p) => {
    try {
      checkPayload(p);
      return { ok: true as const, flat: flattenPortable(p, code, resolved) };
    } catch (err) {
      if (err instanceof LmjError) return { ok: false as const, error: err };
      throw err;
    }
  });
}

/** The portable {@link Codec}. */
export const portableCodec: Codec = Object.freeze({
  kind: 'portable' as const,
  newPointer: (type: EntityType, partition: number): Buffer => processPointers.next(type, partition),
  partitionOf,
  formatPointer,
  parsePointer,
  flatten,
  flattenBatch,
});
