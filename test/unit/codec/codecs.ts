/**
 * The codecs the shared suite runs against. The native leg is always present
 * unless LMJ_CODEC=portable: with LMJ_CODEC=native or unset, a missing addon
 * fails this import (CODEC_UNAVAILABLE) instead of skipping.
 */
import { loadCodec, portableCodec, type Codec } from '../../../src/codec/index.js';

/** True when the run is portable-only (CI's second leg). */
export const portableOnly = process.env['LMJ_CODEC'] === 'portable';

/** The native codec, or undefined in a portable-only run. */
export const nativeCodec: Codec | undefined = portableOnly ? undefined : loadCodec('native');

/** [name, codec] pairs for describe.each. */
export const codecs: [string, Codec][] =
  nativeCodec === undefined ? [['portable', portableCodec]] : [['portable', portableCodec], ['native', nativeCodec]];

/** mulberry32: a small seeded PRNG so failures reproduce from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
