/** The device root object: reading it, and creating it on first write. */
import { LmjError } from '../../errors.js';
import type { ReadTxn, WriteTxn } from '../types.js';
import { ROOT, ROOT_PTR, TS_MEMBER } from './model.js';
import { cborText, cborUint, isReference, readCborUint } from './values.js';

/** The root's members, decoded. */
export interface Root {
  deviceId: string;
  firstSeen: number;
  lastSeen: number;
  readingCount: number;
  meta: Buffer;
  latest: Buffer;
  readings: Buffer;
  ids: Buffer;
}

function ref(txn: ReadTxn, name: Buffer): Buffer {
  const v = txn.memberValue(ROOT_PTR, name);
  if (v === undefined || !isReference(v)) {
    throw new LmjError('STORE_CORRUPT', `device root member "${name.toString()}" is missing or not a pointer`);
  }
  return Buffer.from(v);
}

/** The root, or null when the instance has never been written. Throws STORE_CORRUPT. */
export function readRoot(txn: ReadTxn): Root | null {
  if (!txn.exists(ROOT_PTR)) return null;
  const idValue = txn.memberValue(ROOT_PTR, ROOT.deviceId);
  // A text head of 1–2 bytes precedes the id (ids are ≤ 64 bytes).
  const deviceId = idValue === undefined ? '' : Buffer.from(idValue).subarray(idValue[0] === 0x78 ? 2 : 1).toString('utf8');
  return {
    deviceId,
    firstSeen: readCborUint(txn.memberValue(ROOT_PTR, ROOT.firstSeen)) ?? 0,
    lastSeen: readCborUint(txn.memberValue(ROOT_PTR, ROOT.lastSeen)) ?? 0,
    readingCount: readCborUint(txn.memberValue(ROOT_PTR, ROOT.readingCount)) ?? 0,
    meta: ref(txn, ROOT.meta),
    latest: ref(txn, ROOT.latest),
    readings: ref(txn, ROOT.readings),
    ids: ref(txn, ROOT.ids),
  };
}

/** The root, created (with its empty child entities) when absent. */
export function ensureRoot(txn: WriteTxn, deviceId: string, now: number): Root {
  const existing = readRoot(txn);
  if (existing !== null) return existing;
  txn.objRegister(ROOT_PTR);
  const root: Root = {
    deviceId,
    firstSeen: now,
    lastSeen: now,
    readingCount: 0,
    meta: txn.objCreate(),
    latest: txn.objCreate(),
    readings: txn.setCreate(),
    ids: txn.objCreate(),
  };
  txn.memberPut(ROOT_PTR, ROOT.deviceId, cborText(deviceId));
  txn.memberPut(ROOT_PTR, ROOT.firstSeen, cborUint(now));
  txn.memberPut(ROOT_PTR, ROOT.lastSeen, cborUint(now));
  txn.memberPut(ROOT_PTR, ROOT.readingCount, cborUint(0));
  txn.memberPut(ROOT_PTR, ROOT.meta, root.meta);
  txn.memberPut(ROOT_PTR, ROOT.latest, root.latest);
  txn.memberPut(ROOT_PTR, ROOT.readings, root.readings);
  txn.memberPut(ROOT_PTR, ROOT.ids, root.ids);
  return root;
}

/** Writes the root's changing scalars when they changed. */
export function updateRootStats(
  txn: WriteTxn,
  before: Root,
  after: { firstSeen: number; lastSeen: number; readingCount: number },
): void {
  if (after.firstSeen !== before.firstSeen) txn.memberPut(ROOT_PTR, ROOT.firstSeen, cborUint(after.firstSeen));
  if (after.lastSeen !== before.lastSeen) txn.memberPut(ROOT_PTR, ROOT.lastSeen, cborUint(after.lastSeen));
  if (after.readingCount !== before.readingCount) {
    txn.memberPut(ROOT_PTR, ROOT.readingCount, cborUint(after.readingCount));
  }
}

/** The `$ts` of the `latest` object (the newest reading's ts), or null. */
export function latestTs(txn: ReadTxn, root: Root): number | null {
  return readCborUint(txn.memberValue(root.latest, TS_MEMBER)) ?? null;
}
