/**
 * SQL values ↔ stored member values (canonical CBOR scalars, docs/telemetry-model.md),
 * and SQL's comparison order (SQLite's: NULL < numbers < text).
 */
import { encodeNumber, encodeText } from '../codec/portable/cbor-writer.js';
import { fastNumber } from '../core/reading-columns.js';
import { decodeValue } from '../core/telemetry/values.js';
import { LmjError } from '../errors.js';
import type { SqlType, SqlValue } from './types.js';

/** A stored value as SQL: numbers, text, booleans, NULL; other CBOR as JSON text. */
export function decodeSql(b: Buffer): SqlValue {
  const h = b[0];
  if (h === undefined) return null;
  // Fast paths for the scalars telemetry is made of (the same numeric ones the column
  // scan uses); everything else goes the long way.
  const n = fastNumber(b);
  if (n !== undefined) return n;
  if (h >= 0x60 && h < 0x78 && b.length === 1 + h - 0x60) return b.toString('utf8', 1);
  if (h === 0xf4) return false;
  if (h === 0xf5) return true;
  if (h === 0xf6 || h === 0xf7) return null;
  try {
    const v = decodeValue(b);
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'object' && !Array.isArray(v) && typeof v['$int'] === 'string') return Number(v['$int']);
    return JSON.stringify(v);
  } catch {
    return JSON.stringify({ $raw: b.toString('hex') });
  }
}

/** Canonical CBOR of a non-NULL SQL value (the codec's leaf encoding). */
export function encodeSql(v: Exclude<SqlValue, null>, asReal = false): Buffer {
  if (typeof v === 'string') return encodeText(v);
  if (typeof v === 'boolean') return Buffer.of(v ? 0xf5 : 0xf4);
  if (!Number.isFinite(v)) throw new LmjError('CONSTRAINT_FAILED', `not a finite number: ${v}`);
  if (asReal) {
    const b = Buffer.allocUnsafe(9);
    b[0] = 0xfb;
    b.writeDoubleBE(v, 1);
    return b;
  }
  return encodeNumber(v);
}

/** The SQL type of a value. */
export function typeOf(v: SqlValue): SqlType {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'real';
  if (typeof v === 'boolean') return 'bool';
  return 'text';
}

function rank(v: SqlValue): number {
  if (v === null) return 0;
  return typeof v === 'string' ? 2 : 1;
}

/** Total order for ORDER BY, GROUP BY, min/max: NULL < numbers (false=0, true=1) < text. */
export function compareValues(a: SqlValue, b: SqlValue): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (ra === 1) return Number(a) - Number(b);
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}

/** A map key for a tuple of values (GROUP BY keys). */
export function tupleKey(values: readonly SqlValue[]): string {
  let out = '';
  for (const v of values) out += v === null ? '\u0000n|' : typeof v === 'string' ? `s${v.length}:${v}|` : `v${Number(v)}|`;
  return out;
}
