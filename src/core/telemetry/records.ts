/**
 * Exact-bytes export and idempotent apply of readings, for sync (gateway → router) and
 * the router's data nodes. A record carries the reading's pointer, element and every
 * member's bytes, so applying it anywhere produces a byte-identical reading entity.
 */
import { getCodec } from '../../codec/index.js';
import { MAX_MEMBER_NAME_LEN, PTR_LEN } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import type { ReadTxn, WriteTxn } from '../types.js';
import { LatestBuffer } from './apply.js';
import { IDENTITY_LEN } from './identity.js';
import { ID_MEMBER, TS_MEMBER, decodeElement } from './model.js';
import { ensureRoot, latestTs, readRoot, updateRootStats } from './root.js';
import type { ApplyRecordsResult, ReadingRecord } from './types.js';

/**
 * Readings after `afterElement` (exclusive; undefined = from the start), in element
 * order (append order on the gateway), at most `limit`, with every member's exact bytes.
 */
export function exportRecords(txn: ReadTxn, afterElement: Uint8Array | undefined, limit: number): ReadingRecord[] {
  const root = readRoot(txn);
  if (root === null || limit < 1) return [];
  const range: { from?: Buffer; limit: number } = { limit: Math.floor(limit) };
  if (afterElement !== undefined) range.from = Buffer.concat([afterElement, Buffer.alloc(1)]);
  return txn.setRange(root.readings, range).map((element) => {
    const { ts, ptr } = decodeElement(element);
    const members = txn.objGet(ptr).members.map((m) => ({ name: m.name, value: m.value }));
    const id = members.find((m) => m.name.equals(ID_MEMBER));
    // `$id` is a CBOR byte string: one head byte (0x50) then the 16 bytes.
    const identity = id === undefined ? Buffer.alloc(0) : Buffer.from(id.value.subarray(id.value.length - IDENTITY_LEN));
    return { element: Buffer.from(element), ptr, ts, identity, members };
  });
}

function bad(message: string, index: number): LmjError {
  return new LmjError('BAD_BATCH', message, { details: { record: index } });
}

/** True when `value` is the canonical CBOR unsigned integer `n` (a safe integer ≥ 0). */
function isCborUint(value: Buffer, n: number): boolean {
  // Canonical head: the value itself below 24, else 0x18/0x19/0x1a/0x1b and 1/2/4/8 bytes.
  if (n < 24) return value.length === 1 && value[0] === n;
  if (n < 0x100) return value.length === 2 && value[0] === 0x18 && value[1] === n;
  if (n < 0x10000) return value.length === 3 && value[0] === 0x19 && value.readUInt16BE(1) === n;
  if (n < 0x100000000) return value.length === 5 && value[0] === 0x1a && value.readUInt32BE(1) === n;
  return value.length === 9 && value[0] === 0x1b && value.readBigUInt64BE(1) === BigInt(n);
}

/** True when `value` is the CBOR byte string (16 bytes: head 0x50) holding `identity`. */
function isCborIdentity(value: Buffer, identity: Buffer): boolean {
  return value.length === IDENTITY_LEN + 1 && value[0] === 0x40 + IDENTITY_LEN && identity.compare(value, 1) === 0;
}

/** True when the element is `ts` (8 bytes big-endian) then `ptr`. */
function isElementOf(element: Buffer, ts: number, ptr: Buffer): boolean {
  return element.length === 8 + PTR_LEN && element.readBigUInt64BE(0) === BigInt(ts) && ptr.compare(element, 8) === 0;
}

/**
 * Throws unless every record is well-formed and belongs to `deviceId`'s partition.
 * Compares in place (no encoded copies): the router runs this for every record of
 * every batch.
 */
function validate(deviceId: string, records: readonly ReadingRecord[]): void {
  const partition = getCodec().partitionOf(deviceId);
  records.forEach((r, i) => {
    if (!Buffer.isBuffer(r.ptr) || r.ptr.length !== PTR_LEN || r.ptr[0] !== 0x01) throw bad('record ptr is not an object pointer', i);
    if (r.ptr.readUInt16BE(1) !== partition) {
      throw new LmjError('WRONG_PARTITION', `record pointer is not in device ${deviceId}'s partition`, { details: { record: i, partition } });
    }
    if (!Number.isSafeInteger(r.ts) || r.ts < 0 || !Buffer.isBuffer(r.element) || !isElementOf(r.element, r.ts, r.ptr)) throw bad('record element is not ts ‖ ptr', i);
    if (!Buffer.isBuffer(r.identity) || r.identity.length !== IDENTITY_LEN) throw bad('record identity is not 16 bytes', i);
    let sawTs = false;
    let sawId = false;
    for (const m of r.members) {
      if (!Buffer.isBuffer(m.name) || !Buffer.isBuffer(m.value) || m.name.length < 1 || m.name.length > MAX_MEMBER_NAME_LEN) {
        throw bad('record member name must be 1..493 bytes', i);
      }
      if (m.name.equals(TS_MEMBER)) sawTs = isCborUint(m.value, r.ts);
      if (m.name.equals(ID_MEMBER)) sawId = isCborIdentity(m.value, r.identity);
    }
    if (!sawTs || !sawId) throw bad('record $ts/$id members do not match its ts/identity', i);
  });
}

/** The records in element order: as given when they already are (a batch's always are), else sorted. */
function inElementOrder(records: readonly ReadingRecord[]): readonly ReadingRecord[] {
  for (let i = 1; i < records.length; i++) {
    if (Buffer.compare(records[i - 1]!.element, records[i]!.element) > 0) return [...records].sort((a, b) => Buffer.compare(a.element, b.element));
  }
  return records;
}

/**
 * Writes exported records idempotently: the same pointers, members and elements byte
 * for byte; a record whose identity or pointer is already present is skipped. Creates
 * the root if needed and updates `latest` (only from records at least as new as it),
 * first/last seen and the count. Validates everything before writing anything:
 * throws BAD_BATCH / WRONG_PARTITION for a record that does not fit the device.
 */
export function applyRecords(txn: WriteTxn, deviceId: string, records: readonly ReadingRecord[]): ApplyRecordsResult {
  validate(deviceId, records);
  const first = records[0];
  if (first === undefined) return { applied: 0, duplicates: 0 };
  const root = ensureRoot(txn, deviceId, first.ts);
  const newestBefore = latestTs(txn, root) ?? -1;
  const latest = new LatestBuffer();
  let applied = 0;
  let firstSeen = root.firstSeen;
  let lastSeen = root.lastSeen;
  // Element order, so `latest` ends with the newest record's values whatever the input order.
  for (const r of inElementOrder(records)) {
    if (txn.memberValue(root.ids, r.identity) !== undefined || txn.exists(r.ptr)) continue;
    txn.objCreateWith(
      r.ptr,
      r.members.map((m) => m.name),
      r.members.map((m) => m.value),
    );
    txn.setPut(root.readings, r.element);
    txn.memberPut(root.ids, r.identity, r.ptr);
    if (r.ts >= newestBefore) {
      const user = r.members.filter((m) => !m.name.equals(TS_MEMBER) && !m.name.equals(ID_MEMBER));
      latest.add({ paths: user.map((m) => m.name), values: user.map((m) => m.value) }, r.ts);
    }
    firstSeen = Math.min(firstSeen, r.ts);
    lastSeen = Math.max(lastSeen, r.ts);
    applied++;
  }
  latest.write(txn, root.latest);
  const after = { firstSeen, lastSeen, readingCount: root.readingCount + applied };
  updateRootStats(txn, root, after);
  return { applied, duplicates: records.length - applied, root: after };
}
