/**
 * A second reading of JSON text that JSON.parse already accepted, for the one thing
 * JSON.parse cannot do: keep integer literals beyond 2^53−1 exact (docs/codec.md §6).
 * Objects become Maps (last duplicate wins, `__proto__` a plain key, like JSON.parse),
 * strings are unescaped by JSON.parse itself, numbers with a fraction or exponent
 * and smaller integers are JSON.parse's doubles; only the big integers are bigints.
 * Callers check the nesting depth first; the recursion is bounded by it.
 */

/** A JSON value with exact big integers. */
export type ExactJson = null | boolean | number | bigint | string | ExactJson[] | Map<string, ExactJson>;

const LONG_DIGIT_RUN = /\d{16}/;
const BIG_INTEGER = /^-?\d{16,}$/;

/**
 * True when the text has 16 consecutive digits somewhere (also inside strings): the
 * only way it can hold an integer literal ≥ 10^15, so the only case needing
 * {@link parseExactJson}.
 */
export function hasLongDigitRun(text: string): boolean {
  return LONG_DIGIT_RUN.test(text);
}

function numberOf(token: string): number | bigint {
  if (!BIG_INTEGER.test(token)) return Number(token);
  const n = BigInt(token);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
}

/** Parses valid JSON text (JSON.parse accepted it; no error handling here). */
export function parseExactJson(text: string): ExactJson {
  let i = 0;
  const ws = (): void => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const string = (): string => {
    const start = i++;
    for (let c = text.charCodeAt(i); c !== 0x22; c = text.charCodeAt(++i)) if (c === 0x5c) i++;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): ExactJson => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 0x7b) {
      i++;
      const out = new Map<string, ExactJson>();
      ws();
      if (text.charCodeAt(i) === 0x7d) return i++, out;
      for (;;) {
        ws();
        const key = string();
        ws();
        i++; // ':'
        const v = value();
        out.delete(key);
        out.set(key, v);
        ws();
        if (text.charCodeAt(i++) === 0x7d) return out;
      }
    }
    if (c === 0x5b) {
      i++;
      const out: ExactJson[] = [];
      ws();
      if (text.charCodeAt(i) === 0x5d) return i++, out;
      for (;;) {
        out.push(value());
        ws();
        if (text.charCodeAt(i++) === 0x5d) return out;
      }
    }
    if (c === 0x22) return string();
    if (c === 0x74) return (i += 4), true;
    if (c === 0x66) return (i += 5), false;
    if (c === 0x6e) return (i += 4), null;
    const start = i;
    for (let d = text.charCodeAt(i); (d >= 0x30 && d <= 0x39) || d === 0x2d || d === 0x2b || d === 0x2e || d === 0x65 || d === 0x45; d = text.charCodeAt(++i));
    return numberOf(text.slice(start, i));
  };
  return value();
}
