/**
 * The portable codec: pure TypeScript, byte-identical to the native addon.
 * Used when the addon is not built (no compiler) and as the reference in tests.
 */
import { LmjError } from '../../errors.js';
import type { Codec, EntityType, FlattenLimits, FlattenOutcome, Flattened, PayloadFormat } from '../types.js';
import { PointerGenerator, formatPointer, memberKey, parsePointer, partitionOf } from './pointer.js';

const generator = new PointerGenerator();

function flatten(_payload: Uint8Array, _format?: PayloadFormat, _limits?: Partial<FlattenLimits>): Flattened {
  throw new LmjError('INVALID_PARAM', 'flatten: not implemented yet');
}

/** The portable {@link Codec}. */
export const portableCodec: Codec = Object.freeze({
  kind: 'portable' as const,
  newPointer: (type: EntityType, partition: number): Buffer => generator.next(type, partition),
  partitionOf,
  formatPointer,
  parsePointer,
  memberKey,
  flatten,
  flattenBatch(payloads: readonly Uint8Array[], format?: PayloadFormat, limits?: Partial<FlattenLimits>): FlattenOutcome[] {
    return payloads.map((p) => {
      try {
        return { ok: true as const, flat: flatten(p, format, limits) };
      } catch (err) {
        if (err instanceof LmjError) return { ok: false as const, error: err };
        throw err;
      }
    });
  },
});
