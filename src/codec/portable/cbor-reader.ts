/**
 * The portable CBOR reader (RFC 8949), mirroring native/src/cbor.cc:
 * {@link scanCbor} checks well-formedness without recursion (any nesting) and
 * measures what the precedence rules need; {@link readCbor} then builds the
 * tree of a checked document, with leaves already in canonical CBOR.
 */
import { encodeBytes, encodeNumber, head } from './cbor-writer.js';

/** Marks a NaN/±Infinity leaf (a final-tree rule, reported only if it survives). */
export const NON_FINITE = Symbol('non-finite');

/** A CBOR tree: canonical leaf bytes, a non-finite marker, an array, or a map (last key wins). */
export type CborNode = Buffer | typeof NON_FINITE | CborNode[] | Map<string, CborNode>;

/** What {@link scanCbor} found. */
export interface CborScan {
  ok: boolean;
  maxDepth: number;
  topMajor: number;
  /** A tag, non-text key or unsupported simple value. */
  unsupported: boolean;
}

interface Frame {
  total: number;
  consumed: number;
  indefinite: boolean;
  isMap: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function validUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Argument of a head (ai < 28) at `pos`: value (bigint above 2^53) and new position, or undefined if truncated. */
function readArg(b: Uint8Array, pos: number, ai: number): [number | bigint, number] | undefined {
  if (ai < 24) return [ai, pos];
  const len = 1 << (ai - 24);
  if (b.length - pos < len) return undefined;
  if (len === 1) return [b[pos]!, pos + 1];
  if (len === 2) return [(b[pos]! << 8) | b[pos + 1]!, pos + 2];
  if (len === 4) return [((b[pos]! << 24) >>> 0) + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!), pos + 4];
  const v = Buffer.from(b.buffer, b.byteOffset + pos, 8).readBigUInt64BE(0);
  return [v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, pos + 8];
}

/** Checks the whole payload is one well-formed item; never recurses. */
export function scanCbor(b: Uint8Array): CborScan {
  const scan: CborScan = { ok: false, maxDepth: 0, topMajor: -1, unsupported: false };
  const stack: Frame[] = [];
  let pos = 0;
  let topDone = false;
  const complete = (): void => {
    if (stack.length === 0) topDone = true;
    else stack[stack.length - 1]!.consumed++;
  };
  for (;;) {
    const fr = stack[stack.length - 1];
    if (fr !== undefined) {
      if (!fr.indefinite && fr.consumed === fr.total) {
        stack.pop();
        complete();
        continue;
      }
    } else if (topDone) {
      break;
    }
    if (pos >= b.length) return scan;
    const ib = b[pos++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    if (scan.topMajor < 0) scan.topMajor = major;
    if (ib === 0xff) {
      if (fr === undefined || !fr.indefinite) return scan;
      if (fr.isMap && (fr.consumed & 1) !== 0) return scan;
      stack.pop();
      complete();
      continue;
    }
    if (fr !== undefined && fr.isMap && (fr.consumed & 1) === 0 && major !== 3) scan.unsupported = true;
    if (ai >= 28 && ai <= 30) return scan;
    const indefinite = ai === 31;
    if (indefinite && (major < 2 || major > 5)) return scan;
    let v: number | bigint = 0;
    if (!indefinite) {
      const r = readArg(b, pos, ai);
      if (r === undefined) return scan;
      [v, pos] = r;
    }
    if (major === 2 || major === 3) {
      if (!indefinite) {
        if (b.length - pos < Number(v)) return scan;
        if (major === 3 && !validUtf8(b.subarray(pos, pos + Number(v)))) return scan;
        pos += Number(v);
      } else {
        // Chunks must be definite strings of the same major type, each text chunk
        // valid UTF-8 on its own (RFC 8949 §3.2.3); readCbor joins them.
        for (;;) {
          if (pos >= b.length) return scan;
          const cb = b[pos++]!;
          if (cb === 0xff) break;
          if (cb >> 5 !== major || (cb & 31) >= 28) return scan;
          const r = readArg(b, pos, cb & 31);
          if (r === undefined) return scan;
          const len = Number(r[0]);
          pos = r[1];
          if (b.length - pos < len) return scan;
          if (major === 3 && !validUtf8(b.subarray(pos, pos + len))) return scan;
          pos += len;
        }
      }
    } else if (major === 4 || major === 5) {
      const per = major === 5 ? 2 : 1;
      // Every item takes at least one byte, so a longer count is truncated input.
      if (!indefinite && Number(v) > Math.floor((b.length - pos) / per)) return scan;
      stack.push({ total: Number(v) * per, consumed: 0, indefinite, isMap: major === 5 });
      if (stack.length > scan.maxDepth) scan.maxDepth = stack.length;
      continue;
    } else if (major === 6) {
      // The tagged item fills the same slot: the tag is not an item of its own.
      scan.unsupported = true;
      continue;
    } else if (major === 7) {
      if (ai < 20) scan.unsupported = true;
      else if (ai === 24) {
        if (Number(v) < 32) return scan;
        scan.unsupported = true;
      }
    }
    complete();
  }
  scan.ok = pos === b.length;
  return scan;
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 31;
  const mant = h & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 2 ** -24;
  else if (exp !== 31) v = (mant + 1024) * 2 ** (exp - 25);
  else v = mant === 0 ? Infinity : NaN;
  return h & 0x8000 ? -v : v;
}



function leafNumber(d: number): Buffer | typeof NON_FINITE {
  return Number.isFinite(d) ? encodeNumber(d) : NON_FINITE;
}

/** Builds the tree of a document {@link scanCbor} accepted with nothing unsupported. */
export function readCbor(b: Uint8Array): CborNode {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 0;
  // The body of a string whose head (argument v, additional info ai) was just read:
  // an indefinite-length one is joined from its chunks, so it is stored definite.
  const body = (ai: number, v: number | bigint): Uint8Array => {
    if (ai !== 31) {
      const n = Number(v);
      pos += n;
      return b.subarray(pos - n, pos);
    }
    const parts: Uint8Array[] = [];
    while (b[pos] !== 0xff) {
      const [len, at] = readArg(b, pos + 1, b[pos]! & 31)!;
      pos = at + Number(len);
      parts.push(b.subarray(at, pos));
    }
    pos++;
    return Buffer.concat(parts);
  };
  const item = (): CborNode => {
    const ib = b[pos++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    let v: number | bigint = 0;
    if (ai < 28) [v, pos] = readArg(b, pos, ai)!;
    switch (major) {
      case 0:
      case 1:
        return head(major, v);
      case 2:
      case 3:
        return encodeBytes(major, body(ai, v));
      case 4: {
        const out: CborNode[] = [];
        for (let i = 0; ai === 31 ? b[pos] !== 0xff : i < Number(v); i++) out.push(item());
        if (ai === 31) pos++;
        return out;
      }
      case 5: {
        const out = new Map<string, CborNode>();
        for (let i = 0; ai === 31 ? b[pos] !== 0xff : i < Number(v); i++) {
          const kai = b[pos++]! & 31;
          let klen: number | bigint = 0;
          if (kai < 28) [klen, pos] = readArg(b, pos, kai)!;
          const key = utf8.decode(body(kai, klen));
          const value = item();
          // Last one wins: delete first so a duplicate cannot keep stale state.
          out.delete(key);
          out.set(key, value);
        }
        if (ai === 31) pos++;
        return out;
      }
      default:
        if (ai === 25) return leafNumber(halfToNumber(Number(v)));
        if (ai === 26) return leafNumber(view.getFloat32(pos - 4));
        if (ai === 27) return leafNumber(view.getFloat64(pos - 8));
        return Buffer.of(0xe0 | ai); // 20..23: false, true, null, undefined
    }
  };
  return item();
}
