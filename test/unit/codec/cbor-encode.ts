/**
 * A deliberately loose CBOR encoder for tests: it may pick longer heads,
 * indefinite-length containers and half/single floats, so the codecs'
 * canonicalization is exercised. Map entries are pairs, so duplicates are possible.
 */

/** A test value: Map entries as pairs (duplicates allowed), bigint for 64-bit ints. */
export type TValue = null | boolean | undefined | number | bigint | string | Uint8Array | TValue[] | { entries: [string, TValue][] };

function headBytes(major: number, n: bigint, minWidth: number): number[] {
  const m = major << 5;
  const width = n < 24n && minWidth === 0 ? 0 : n <= 0xffn && minWidth <= 1 ? 1 : n <= 0xffffn && minWidth <= 2 ? 2 : n <= 0xffffffffn && minWidth <= 4 ? 4 : 8;
  if (width === 0) return [m | Number(n)];
  const out = [m | { 1: 24, 2: 25, 4: 26, 8: 27 }[width]!];
  for (let i = width - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Encodes `v`; `rnd` drives the non-canonical choices (omit for shortest forms). */
export function encodeLoose(v: TValue, rnd: () => number = () => 1): Buffer {
  const out: number[] = [];
  const w = (): number => (rnd() < 0.15 ? [1, 2, 4, 8][Math.floor(rnd() * 4)]! : 0);
  const item = (x: TValue): void => {
    if (x === null) out.push(0xf6);
    else if (x === undefined) out.push(0xf7);
    else if (x === true) out.push(0xf5);
    else if (x === false) out.push(0xf4);
    else if (typeof x === 'bigint') out.push(...(x >= 0n ? headBytes(0, x, w()) : headBytes(1, -1n - x, w())));
    else if (typeof x === 'number') {
      if (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER && !Object.is(x, -0) && rnd() < 0.8) {
        out.push(...(x >= 0 ? headBytes(0, BigInt(x), w()) : headBytes(1, BigInt(-1 - x), w())));
        return;
      }
      const b = Buffer.alloc(9);
      const f32 = Math.fround(x);
      if ((f32 === x || Number.isNaN(x)) && rnd() < 0.5) {
        b[0] = 0xfa;
        b.writeFloatBE(x, 1);
        out.push(...b.subarray(0, 5));
      } else {
        b[0] = 0xfb;
        b.writeDoubleBE(x, 1);
        out.push(...b);
      }
    } else if (typeof x === 'string') {
      const body = Buffer.from(x, 'utf8');
      out.push(...headBytes(3, BigInt(body.length), w()), ...body);
    } else if (x instanceof Uint8Array) {
      out.push(...headBytes(2, BigInt(x.length), w()), ...x);
    } else if (Array.isArray(x)) {
      const indef = rnd() < 0.1;
      out.push(...(indef ? [0x9f] : headBytes(4, BigInt(x.length), w())));
      for (const e of x) item(e);
      if (indef) out.push(0xff);
    } else {
      const indef = rnd() < 0.1;
      out.push(...(indef ? [0xbf] : headBytes(5, BigInt(x.entries.length), w())));
      for (const [k, e] of x.entries) {
        item(k);
        item(e);
      }
      if (indef) out.push(0xff);
    }
  };
  item(v);
  return Buffer.from(out);
}
