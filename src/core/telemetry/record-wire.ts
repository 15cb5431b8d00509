/**
 * Exported readings as the record items of the sync batch (src/sync/batch.ts):
 * `[element, [name, value, …]]`, CBOR, back to back. The gateway's uplink reads its
 * backlog in this form: through the addon (native/src/export.cc) when it can read the
 * transaction, one call per device instead of an lmdb-js call and a fresh Buffer per
 * name and value; else through {@link exportRecords} and {@link encodeRecordItems},
 * which write the same bytes.
 */
import { exportRecords } from './records.js';
import { readRoot } from './root.js';
import type { ReadingRecord } from './types.js';
import type { ReadTxn } from '../types.js';

/** Exported readings: their record items and each one's element, in order. */
export interface RecordItems {
  items: Buffer;
  elements: Buffer[];
  /** True when the bytes bound stopped it before the next reading. */
  cut: boolean;
}

function headLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function writeHead(out: Buffer, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m | 25;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = m | 26;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}

function writeBytes(out: Buffer, at: number, b: Uint8Array): number {
  const p = writeHead(out, at, 2, b.length);
  out.set(b, p);
  return p + b.length;
}

/** Wire bytes of one record item. */
export function recordItemBytes(r: ReadingRecord): number {
  let n = 1 + headLen(r.element.length) + r.element.length + headLen(r.members.length * 2);
  for (const m of r.members) n += headLen(m.name.length) + m.name.length + headLen(m.value.length) + m.value.length;
  return n;
}

/** The record items of `records`, back to back. */
export function encodeRecordItems(records: readonly ReadingRecord[]): Buffer {
  let size = 0;
  for (const r of records) size += recordItemBytes(r);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) at = writeRecordItem(out, at, r);
  return out;
}

/** Writes one record item at `at`; returns the end. */
export function writeRecordItem(out: Buffer, at: number, r: ReadingRecord): number {
  out[at++] = 0x82;
  at = writeBytes(out, at, r.element);
  at = writeHead(out, at, 4, r.members.length * 2);
  for (const m of r.members) {
    at = writeBytes(out, at, m.name);
    at = writeBytes(out, at, m.value);
  }
  return at;
}

/** Reads the argument of the definite head at `at` (major type unchecked); returns [argument, next]. */
function head(b: Buffer, at: number): [number, number] {
  const info = b[at]! & 31;
  if (info < 24) return [info, at + 1];
  if (info === 24) return [b[at + 1]!, at + 2];
  if (info === 25) return [b.readUInt16BE(at + 1), at + 3];
  return [b.readUInt32BE(at + 1), at + 5];
}

/** The element of every record item in `items` (views into it). */
export function itemElements(items: Buffer, count: number): Buffer[] {
  const out: Buffer[] = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    // 0x82, then the element's byte string head (0x58 0x19: 25 bytes).
    const [len, es] = head(items, at + 1);
    out[i] = items.subarray(es, es + len);
    let [n, p] = head(items, es + len);
    for (; n > 0; n--) {
      const [l, q] = head(items, p);
      p = q + l;
    }
    at = p;
  }
  return out;
}

/**
 * Readings after `afterElement` (exclusive; undefined = from the start) as record items,
 * at most `limit` of them in at most `maxBytes` (always at least one).
 */
export function exportRecordItems(txn: ReadTxn, afterElement: Uint8Array | undefined, limit: number, maxBytes: number): RecordItems {
  const root = readRoot(txn);
  if (root === null || limit < 1) return { items: Buffer.alloc(0), elements: [], cut: false };
  const native = txn.readingRecordItems(root.readings, afterElement, limit, maxBytes);
  if (native !== null) return { items: native.items, elements: itemElements(native.items, native.count), cut: native.cut };
  const records = exportRecords(txn, afterElement, limit);
  let bytes = 0;
  let n = 0;
  for (const r of records) {
    const b = recordItemBytes(r);
    if (n > 0 && bytes + b > maxBytes) break;
    bytes += b;
    n++;
  }
  const kept = records.slice(0, n);
  return { items: encodeRecordItems(kept), elements: kept.map((r) => r.element), cut: n < records.length };
}

/** Timestamp of a `readings` element (its first 8 bytes, big-endian ms). */
export function elementTs(element: Buffer): number {
  return element.readUInt32BE(0) * 0x100000000 + element.readUInt32BE(4);
}
