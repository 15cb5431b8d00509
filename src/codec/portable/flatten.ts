/**
 * Portable flatten (docs/codec.md §4–§7), byte-identical to native/src/flatten.cc:
 * JSON through TextDecoder + JSON.parse (whose meaning, incl. last-duplicate-wins,
 * is the contract; ./json-exact.ts reads text with big integer literals again to keep
 * them exact), CBOR through ./cbor-reader.ts, then one walker for both.
 */
import { LmjError, type ErrorCode } from '../../errors.js';
import { bomLength, looksLikeJson } from '../limits.js';
import { MAX_MEMBER_NAME_LEN, type FlattenLimits, type Flattened } from '../types.js';
import { NON_FINITE, readCbor, scanCbor, type CborNode } from './cbor-reader.js';
import { encodeNumber, encodeText, head } from './cbor-writer.js';
import { hasLongDigitRun, parseExactJson } from './json-exact.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ESCAPE = /[.[\]\\]/g;

/** Deepest container nesting of JSON text JSON.parse accepted (strings skipped). */
function jsonDepth(b: Uint8Array): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22) {
      for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
/** bigint: a JSON integer literal beyond 2^53−1 (./json-exact.ts); Map: an object parsed there. */
type ExactJsonValue = null | boolean | number | bigint | string | ExactJsonValue[] | Map<string, ExactJsonValue>;
type Node = JsonValue | ExactJsonValue | CborNode;

const MAX_UINT64 = (1n << 64n) - 1n;

/** Precedence of final-tree violations: lower wins (docs/codec.md §7). */
const RANK: Partial<Record<ErrorCode, number>> = {
  EMPTY_KEY: 1,
  NON_FINITE: 2,
  INTEGER_OUT_OF_RANGE: 3,
  PATH_TOO_LONG: 4,
  UNSUPPORTED_VALUE: 5,
  TOO_MANY_FIELDS: 6,
};

class Walk {
  readonly paths: string[] = [];
  readonly values: Buffer[] = [];
  emptyKey = false;
  nonFinite = false;
  outOfRange = false;

  node(v: Node, path: string): void {
    if (v === null) this.leaf(path, Buffer.of(0xf6));
    else if (v === true) this.leaf(path, Buffer.of(0xf5));
    else if (v === false) this.leaf(path, Buffer.of(0xf4));
    else if (typeof v === 'number') {
      if (Number.isFinite(v)) this.leaf(path, encodeNumber(v));
      else this.nonFinite = true;
    } else if (typeof v === 'bigint') {
      // Exact CBOR integer within 64 bits (major 0: 0..2^64−1, major 1: −2^64..−1).
      if (v >= 0n ? v <= MAX_UINT64 : -1n - v <= MAX_UINT64) this.leaf(path, v >= 0n ? head(0, v) : head(1, -1n - v));
      else this.outOfRange = true;
    } else if (typeof v === 'string') this.leaf(path, encodeText(v));
    else if (v === NON_FINITE) this.nonFinite = true;
    else if (v instanceof Uint8Array) this.leaf(path, v);
    else if (Array.isArray(v)) {
      if (v.length === 0) this.leaf(path, Buffer.of(0x80));
      for (let i = 0; i < v.length; i++) this.node(v[i]!, `${path}[${i}]`);
    } else if (v instanceof Map) {
      if (v.size === 0) this.leaf(path, Buffer.of(0xa0));
      for (const [k, child] of v) this.member(k, child, path, false);
    } else {
      const keys = Object.keys(v);
      if (keys.length === 0) this.leaf(path, Buffer.of(0xa0));
      for (const k of keys) this.member(k, v[k]!, path, false);
    }
  }

  member(key: string, child: Node, path: string, top: boolean): void {
    if (key.length === 0) this.emptyKey = true;
    const esc = key.replace(ESCAPE, '\\$&');
    this.node(child, top ? (key.charCodeAt(0) === 0x24 ? `\\${esc}` : esc) : `${path}.${esc}`);
  }

  leaf(path: string, value: Buffer): void {
    this.paths.push(path);
    this.values.push(value);
  }
}

function finish(w: Walk, limits: FlattenLimits): Flattened {
  let best: ErrorCode | undefined;
  const note = (code: ErrorCode): void => {
    if (best === undefined || RANK[code]! < RANK[best]!) best = code;
  };
  if (w.emptyKey) note('EMPTY_KEY');
  if (w.nonFinite) note('NON_FINITE');
  if (w.outOfRange) note('INTEGER_OUT_OF_RANGE');
  const n = w.paths.length;
  const items: { path: Buffer; value: Buffer }[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const path = Buffer.from(w.paths[i]!, 'utf8');
    if (path.length > MAX_MEMBER_NAME_LEN) note('PATH_TOO_LONG');
    items[i] = { path, value: w.values[i]! };
  }
  if (best === undefined || RANK[best]! > RANK.PATH_TOO_LONG!) {
    items.sort((a, b) => Buffer.compare(a.path, b.path));
    for (let i = 1; i < n; i++) {
      if (items[i - 1]!.path.equals(items[i]!.path)) {
        // Two distinct keys with the same UTF-8 form (lone surrogates): ambiguous.
        note('UNSUPPORTED_VALUE');
        break;
      }
    }
    if (n > limits.maxFields) note('TOO_MANY_FIELDS');
  }
  if (best !== undefined) throw new LmjError(best);
  const paths: Buffer[] = new Array(n);
  const values: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    paths[i] = items[i]!.path;
    values[i] = items[i]!.value;
  }
  return { paths, values };
}

function walkTop(entries: Iterable<[string, Node]>, limits: FlattenLimits): Flattened {
  const w = new Walk();
  for (const [k, v] of entries) w.member(k, v, '', true);
  return finish(w, limits);
}

function flattenJson(payload: Uint8Array, limits: FlattenLimits): Flattened {
  payload = payload.subarray(bomLength(payload));
  let value: unknown;
  let text: string;
  try {
    text = utf8.decode(payload);
    value = JSON.parse(text);
  } catch (cause) {
    throw new LmjError('BAD_JSON', undefined, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LmjError('NOT_AN_OBJECT');
  // A depth d needs at least 2d bytes, so short payloads skip the scan.
  if (payload.length > 2 * limits.maxDepth && jsonDepth(payload) > limits.maxDepth) throw new LmjError('TOO_DEEP');
  // JSON.parse rounds integers beyond 2^53 to doubles; only a run of 16+ digits can
  // be one, and then the text is read again keeping integer literals exact.
  if (hasLongDigitRun(text)) return walkTop(parseExactJson(text) as Map<string, Node>, limits);
  const obj = value as Record<string, JsonValue>;
  return walkTop(
    Object.keys(obj).map((k): [string, Node] => [k, obj[k]!]),
    limits,
  );
}

function flattenCbor(payload: Uint8Array, limits: FlattenLimits): Flattened {
  const scan = scanCbor(payload);
  if (!scan.ok) throw new LmjError('BAD_CBOR');
  if (scan.topMajor !== 5) throw new LmjError('NOT_AN_OBJECT');
  if (scan.maxDepth > limits.maxDepth) throw new LmjError('TOO_DEEP');
  if (scan.unsupported) throw new LmjError('UNSUPPORTED_VALUE');
  return walkTop(readCbor(payload) as Map<string, CborNode>, limits);
}

/** Flattens one payload with resolved limits; throws the LmjError of the rule it breaks. */
export function flattenPortable(payload: Uint8Array, format: 0 | 1 | 2, limits: FlattenLimits): Flattened {
  const json = format === 0 || (format === 2 && looksLikeJson(payload));
  return json ? flattenJson(payload, limits) : flattenCbor(payload, limits);
}
