/** The shape of one golden flatten vector (see ./generate.ts). */
import type { FlattenLimits, PayloadFormat } from '../../../../src/codec/index.js';

/** One stored case: input, limits and the native codec's reviewed outcome key. */
export interface GoldenCase {
  name: string;
  format: PayloadFormat;
  /** The payload bytes, hex. */
  payload: string;
  /** The JSON payload as text, for review only (absent when not valid UTF-8). */
  text?: string;
  limits?: FlattenLimits;
  /** `path=value,…` (hex) or `!CODE`, as ../generators.ts outcomeKey writes it. */
  expect: string;
}
