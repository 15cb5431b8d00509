/**
 * Argument checks shared by both codecs, so a bad limit or format is refused
 * the same way (INVALID_PARAM) before any payload is looked at.
 */
import { LmjError } from '../errors.js';
import { DEFAULT_FLATTEN_LIMITS, type FlattenLimits, type PayloadFormat } from './types.js';

/** Deepest `maxDepth` accepted: bounds the native walker's recursion on any stack. */
export const MAX_DEPTH_CAP = 512;
/** Largest `maxFields` accepted. */
export const MAX_FIELDS_CAP = 1_000_000;

/** Defaults filled in and ranges checked; throws INVALID_PARAM. */
export function resolveLimits(limits?: Partial<FlattenLimits>): FlattenLimits {
  const maxDepth = limits?.maxDepth ?? DEFAULT_FLATTEN_LIMITS.maxDepth;
  const maxFields = limits?.maxFields ?? DEFAULT_FLATTEN_LIMITS.maxFields;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_DEPTH_CAP) {
    throw new LmjError('INVALID_PARAM', `maxDepth must be an integer in 1..${MAX_DEPTH_CAP}`, { details: { maxDepth } });
  }
  if (!Number.isInteger(maxFields) || maxFields < 1 || maxFields > MAX_FIELDS_CAP) {
    throw new LmjError('INVALID_PARAM', `maxFields must be an integer in 1..${MAX_FIELDS_CAP}`, { details: { maxFields } });
  }
  return { maxDepth, maxFields };
}

/** Format as the native addon's number: 0 json, 1 cbor, 2 auto. Throws INVALID_PARAM. */
export function formatCode(format: PayloadFormat | undefined): 0 | 1 | 2 {
  switch (format ?? 'auto') {
    case 'json':
      return 0;
    case 'cbor':
      return 1;
    case 'auto':
      return 2;
    default:
      throw new LmjError('INVALID_PARAM', `format must be json, cbor or auto, got ${JSON.stringify(format)}`);
  }
}

/** `auto` detection: JSON when the first byte after an optional BOM and whitespace can start a JSON value, else CBOR. */
export function looksLikeJson(payload: Uint8Array): boolean {
  for (let i = bomLength(payload); i < payload.length; i++) {
    const c = payload[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return JSON_START.has(c);
  }
  return false;
}

/** Bytes that can start a JSON value: `{ [ " - 0-9 t f n`; no CBOR map head (0xA0..0xBF) is one. */
const JSON_START = new Set(Array.from('{["-0123456789tfn', (ch) => ch.charCodeAt(0)));

/**
 * 3 when the payload starts with a UTF-8 byte order mark, else 0. It is not part of
 * a JSON text; RFC 8259 §8.1 lets a parser ignore it, and some firmware sends one.
 */
export function bomLength(payload: Uint8Array): number {
  return payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
}

/** Throws INVALID_PARAM unless `payload` is a Uint8Array. */
export function checkPayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new LmjError('INVALID_PARAM', 'payload must be a Uint8Array');
}
