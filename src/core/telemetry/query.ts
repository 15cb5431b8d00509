/** Read-side queries over one device instance (any transaction). */
import { LmjError } from '../../errors.js';
import type { Member, ReadTxn } from '../types.js';
import { ELEMENT_LEN, ID_MEMBER, ROOT_PTR, TS_MEMBER, decodeElement, tsPrefix } from './model.js';
import { latestTs, readRoot } from './root.js';
import type { DeviceSummary, JsonValue, LatestView, ReadingView, ReadingsPage, ReadingsQuery } from './types.js';
import { decodeValue, readCborUint } from './values.js';

/** Largest page of readings. */
export const MAX_READINGS_LIMIT = 1000;
/** Page size when no limit is given. */
export const DEFAULT_READINGS_LIMIT = 100;

const DOLLAR = 0x24;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Decodes a value for a query answer; a value that is not CBOR is shown as `{"$raw": hex}`. */
function jsonOf(value: Buffer): JsonValue {
  try {
    return decodeValue(value);
  } catch {
    return { $raw: value.toString('hex') };
  }
}

/** Flattened paths → values, without the gateway's own `$` members. */
export function valuesOf(members: readonly Member[], fields?: readonly string[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const m of members) {
    if (m.name[0] === DOLLAR) continue;
    const name = m.name.toString('utf8');
    if (fields !== undefined && !fields.some((f) => name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`))) continue;
    out[name] = jsonOf(m.value);
  }
  return out;
}

/** The device's root summary, or null when the instance has no root (never written). */
export function deviceSummary(txn: ReadTxn): DeviceSummary | null {
  const root = readRoot(txn);
  if (root === null) return null;
  return {
    id: root.deviceId,
    firstSeen: root.firstSeen,
    lastSeen: root.lastSeen,
    readings: root.readingCount,
    latestTs: latestTs(txn, root),
    meta: valuesOf(txn.objGet(root.meta).members),
    pointers: {
      root: hex(ROOT_PTR),
      meta: hex(root.meta),
      latest: hex(root.latest),
      readings: hex(root.readings),
      ids: hex(root.ids),
    },
  };
}

/** Latest value per flattened path, or null when the instance has no root. */
export function latest(txn: ReadTxn): LatestView | null {
  const root = readRoot(txn);
  if (root === null) return null;
  return { id: root.deviceId, ts: latestTs(txn, root), values: valuesOf(txn.objGet(root.latest).members) };
}

/** One reading object as a view. */
export function readingView(txn: ReadTxn, ptr: Buffer, ts: number, fields?: readonly string[]): ReadingView {
  const { members } = txn.objGet(ptr);
  let id = '';
  for (const m of members) {
    if (m.name.equals(ID_MEMBER)) {
      const v = jsonOf(m.value);
      id = typeof v === 'object' && v !== null && '$bytes' in v ? Buffer.from(String(v.$bytes), 'base64').toString('hex') : '';
    }
  }
  return { ts, ptr: ptr.toString('hex'), id, values: valuesOf(members, fields) };
}

function badRequest(message: string, details: Record<string, unknown>): LmjError {
  return new LmjError('BAD_REQUEST', message, { details });
}

function checkTime(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw badRequest(`${name} must be a non-negative integer (Unix ms)`, { [name]: v });
}

/**
 * A page of readings in time order (`reverse`: newest first), `from` inclusive, `to`
 * exclusive. `next` (opaque: hex of the last element returned) continues the page.
 * Throws BAD_REQUEST for a bad range, limit or cursor.
 */
export function readings(txn: ReadTxn, query: ReadingsQuery = {}): ReadingsPage {
  const limit = query.limit ?? DEFAULT_READINGS_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_READINGS_LIMIT) {
    throw badRequest(`limit must be an integer in 1..${MAX_READINGS_LIMIT}`, { limit });
  }
  checkTime('from', query.from);
  checkTime('to', query.to);
  let cursor: Buffer | undefined;
  if (query.cursor !== undefined) {
    cursor = /^[0-9a-fA-F]*$/.test(query.cursor) ? Buffer.from(query.cursor, 'hex') : Buffer.alloc(0);
    if (cursor.length !== ELEMENT_LEN) throw badRequest('cursor is not a `next` value of this API', { cursor: query.cursor.slice(0, 80) });
  }
  const root = readRoot(txn);
  if (root === null) return { readings: [], next: null };
  let from = query.from === undefined ? undefined : tsPrefix(query.from);
  let to = query.to === undefined ? undefined : tsPrefix(query.to);
  if (cursor !== undefined) {
    // Paging by bounds, not `after`: cursor‖00 is the smallest element above the cursor,
    // and the cursor itself is an exclusive upper bound when walking backwards.
    if (query.reverse === true) {
      if (to === undefined || Buffer.compare(cursor, to) < 0) to = cursor;
    } else {
      const succ = Buffer.concat([cursor, Buffer.alloc(1)]);
      if (from === undefined || Buffer.compare(succ, from) > 0) from = succ;
    }
  }
  if (from !== undefined && to !== undefined && Buffer.compare(from, to) >= 0) return { readings: [], next: null };
  const range: { from?: Buffer; to?: Buffer; limit: number; reverse: boolean } = { limit: limit + 1, reverse: query.reverse === true };
  if (from !== undefined) range.from = from;
  if (to !== undefined) range.to = to;
  const elements = txn.setRange(root.readings, range);
  const page = elements.slice(0, limit);
  const out = page.map((el) => {
    const { ts, ptr } = decodeElement(el);
    return readingView(txn, ptr, ts, query.fields);
  });
  const last = page[page.length - 1];
  return { readings: out, next: elements.length > limit && last !== undefined ? hex(last) : null };
}

/** The reading stored for a message identity, or null. */
export function findByIdentity(txn: ReadTxn, identity: Uint8Array): ReadingView | null {
  const root = readRoot(txn);
  if (root === null) return null;
  const ptr = txn.memberValue(root.ids, identity);
  if (ptr === undefined || !txn.exists(ptr)) return null;
  const ts = readCborUint(txn.memberValue(ptr, TS_MEMBER)) ?? 0;
  return readingView(txn, Buffer.from(ptr), ts);
}
