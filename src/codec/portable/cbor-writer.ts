/** Canonical CBOR for leaves (docs/codec.md §6): shortest heads, float64 for non-integers. */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A CBOR head: major type and argument in the shortest form. */
export function head(major: number, n: number | bigint): Buffer {
  const m = major << 5;
  if (typeof n === 'bigint') {
    if (n > 0xffffffffn) {
      const b = Buffer.allocUnsafe(9);
      b[0] = m | 27;
      b.writeBigUInt64BE(n, 1);
      return b;
    }
    n = Number(n);
  }
  if (n < 24) return Buffer.of(m | n);
  if (n <= 0xff) return Buffer.of(m | 24, n);
  if (n <= 0xffff) return Buffer.of(m | 25, n >>> 8, n & 0xff);
  if (n <= 0xffffffff) {
    const b = Buffer.allocUnsafe(5);
    b[0] = m | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/** A finite number: integer form within ±(2^53−1) except −0, else float64. */
export function encodeNumber(d: number): Buffer {
  if (Number.isInteger(d) && Math.abs(d) <= MAX_SAFE && !Object.is(d, -0)) {
    return d >= 0 ? head(0, d) : head(1, -1 - d);
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = 0xfb;
  b.writeDoubleBE(d, 1);
  return b;
}

/** A text string (lone surrogates become U+FFFD through UTF-8 encoding). */
export function encodeText(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  return Buffer.concat([head(3, body.length), body]);
}

/** A byte or text string from raw bytes (major 2 or 3). */
export function encodeBytes(major: 2 | 3, body: Uint8Array): Buffer {
  return Buffer.concat([head(major, body.length), body]);
}
