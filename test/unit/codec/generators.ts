/**
 * Seeded payload generators shared by the property tests and the golden-vector
 * generator (golden/generate.ts): each generated case carries the leaves an
 * independent model expects (paths built here, values as cbor-x decodes them).
 */
import type { FlattenOutcome } from '../../../src/codec/index.js';
import type { TValue } from './cbor-encode.js';

/** The default property seed (LMJ_PROP_SEED overrides it in the property tests). */
export const DEFAULT_SEED = 20240611;

/**
 * Key characters. JSON keys may also hold a lone surrogate, so two different keys
 * can have one UTF-8 form (the UNSUPPORTED_VALUE rule of docs/codec.md §7.5); CBOR
 * text is UTF-8 already, so there U+D800 would only be a plain duplicate of U+FFFD.
 */
const KEY_CHARS = ['a', 'b', 'z', 'T', '0', '9', '_', '-', '.', '[', ']', '\\', '$', ' ', 'é', 'ß', '中', '😀', '\u2028', '"', '\n', '\ufffd'];
const JSON_KEY_CHARS = [...KEY_CHARS, '\ud800'];
const NUMS = [0, 1, -1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, -(2 ** 53), 0.5, -0.1, 1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0, 3.4028234663852886e38];
const BIGS = [2n ** 63n, 2n ** 64n - 1n, -(2n ** 64n), -(2n ** 63n), 2n ** 53n + 1n];

/** One generated payload tree and what the model expects of it. */
export interface Gen {
  value: TValue;
  /** Expected leaves: path (JS string, may hold lone surrogates) → decoded value. */
  leaves: Map<string, unknown>;
}

/** The UTF-8 form of a JS string as a string (lone surrogates → U+FFFD). */
export function utf8Form(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * True when two distinct leaf paths of `g` have one UTF-8 form: the payload must be
 * rejected with UNSUPPORTED_VALUE (only JSON keys with lone surrogates can do this).
 */
export function hasPathCollision(g: Gen): boolean {
  return new Set([...g.leaves.keys()].map(utf8Form)).size < g.leaves.size;
}

/** A generator of payload trees for JSON (`cbor` false) or CBOR. */
export function makeGen(rnd: () => number, cbor: boolean): () => Gen {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const chars = cbor ? KEY_CHARS : JSON_KEY_CHARS;
  const key = (): string => {
    const n = 1 + Math.floor(rnd() * 6);
    let s = '';
    for (let i = 0; i < n; i++) s += pick(chars);
    return s;
  };
  const esc = (k: string, top: boolean): string => (top && k.startsWith('$') ? '\\' : '') + k.replace(/[.[\]\\]/g, '\\$&');
  const scalar = (): [TValue, unknown] => {
    const r = rnd();
    if (r < 0.1) return [null, null];
    if (r < 0.2) return [rnd() < 0.5, undefined];
    if (r < 0.45) {
      const n = rnd() < 0.5 ? pick(NUMS) : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
      return [n, n];
    }
    if (r < 0.5 && cbor) {
      const b = pick(BIGS);
      return [b, b];
    }
    if (r < 0.55 && cbor) return [undefined, undefined];
    if (r < 0.6 && cbor) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 5) }, () => Math.floor(rnd() * 256)));
      return [bytes, bytes];
    }
    const s = key() + (rnd() < 0.2 ? '\ud800' : '');
    return [s, s.replace(/\ud800/g, '\ufffd')];
  };
  const node = (depth: number, path: string, top: boolean, leaves: Map<string, unknown>): TValue => {
    const r = rnd();
    if (!top && (depth >= 5 || r < 0.55)) {
      const [v, d] = scalar();
      leaves.set(path, typeof v === 'boolean' ? v : d);
      return v;
    }
    if (!top && r < 0.7) {
      const n = Math.floor(rnd() * 4);
      if (n === 0) leaves.set(path, []);
      return Array.from({ length: n }, (_, i) => node(depth + 1, `${path}[${i}]`, false, leaves));
    }
    const n = Math.floor(rnd() * (top ? 8 : 4));
    if (n === 0 && !top) leaves.set(path, {});
    const entries: [string, TValue][] = [];
    const used = new Set<string>();
    const member = (k: string): void => {
      if (used.has(k)) return;
      used.add(k);
      const p = top ? esc(k, true) : `${path}.${esc(k, false)}`;
      if (rnd() < 0.1) {
        // An earlier duplicate whose subtree must vanish (last one wins).
        entries.push([k, node(depth + 1, p, false, new Map())]);
      }
      entries.push([k, node(depth + 1, p, false, leaves)]);
    };
    for (let i = 0; i < n; i++) {
      const k = key();
      member(k);
      // Now and then a twin key spelled with a lone surrogate instead of U+FFFD:
      // a different JSON key with the same UTF-8 form.
      if (!cbor && k.includes('\ufffd') && rnd() < 0.05) member(k.replace(/\ufffd/g, '\ud800'));
    }
    return { entries };
  };
  return () => {
    const leaves = new Map<string, unknown>();
    return { value: node(0, '', true, leaves), leaves };
  };
}

/** A JSON string literal with some letters as `\u` escapes (never inside an existing escape). */
function jsonString(s: string, rnd: () => number): string {
  return JSON.stringify(s).replace(/\\u[0-9a-fA-F]{4}|\\.|[a-z]/g, (tok) =>
    tok.length === 1 && rnd() < 0.1 ? `\\u${tok.charCodeAt(0).toString(16).padStart(4, '0')}` : tok,
  );
}

/** JSON text with duplicates, random \u escapes and whitespace. */
export function toJson(v: TValue, rnd: () => number): string {
  const ws = (): string => (rnd() < 0.1 ? ' \n\t\r'[Math.floor(rnd() * 4)]! : '');
  const item = (x: TValue): string => {
    if (x === null || x === undefined) return 'null';
    if (typeof x === 'boolean') return String(x);
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : rnd() < 0.2 ? x.toExponential() : String(x);
    if (typeof x === 'bigint') return String(x);
    if (typeof x === 'string') return jsonString(x, rnd);
    if (x instanceof Uint8Array) return '"b"';
    if (Array.isArray(x)) return `[${x.map((e) => ws() + item(e) + ws()).join(',')}]`;
    return `{${x.entries.map(([k, e]) => `${ws()}${jsonString(k, rnd)}${ws()}:${ws()}${item(e)}`).join(',')}}`;
  };
  return item(v);
}

/** A flatten outcome as one comparable string: `path=value,…` in hex, or `!CODE`. */
export function outcomeKey(o: FlattenOutcome): string {
  return o.ok ? o.flat.paths.map((p, i) => `${p.toString('hex')}=${o.flat.values[i]!.toString('hex')}`).join(',') : `!${o.error.code}`;
}
