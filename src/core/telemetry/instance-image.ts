/**
 * What a copy of a device instance needs besides its readings (a range move,
 * docs/cluster.md): the root's own pointers (its `meta`, `latest`, `readings` and `ids`
 * entities are created with fresh pointers, so a copy built by applying records alone
 * would differ from its source in those bytes) and the members of the `meta` and
 * `latest` objects, copied by pointer. Applied before the records of a copy, it makes the
 * copy's root byte-identical to the source's once every reading is in.
 */
import { MAX_MEMBER_NAME_LEN, PTR_LEN } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import type { ReadTxn, WriteTxn } from '../types.js';
import { ROOT, ROOT_PTR } from './model.js';
import { readRoot } from './root.js';
import { cborText, cborUint } from './values.js';

/** A member as copied. */
export interface ImageMember {
  name: Buffer;
  value: Buffer;
}

/** The root's identity and pointers, and the `meta`/`latest` members, at one read. */
export interface InstanceImage {
  deviceId: string;
  firstSeen: number;
  meta: Buffer;
  latest: Buffer;
  readings: Buffer;
  ids: Buffer;
  metaMembers: ImageMember[];
  latestMembers: ImageMember[];
}

const members = (txn: ReadTxn, ptr: Uint8Array): ImageMember[] => txn.objGet(ptr).members.map((m) => ({ name: Buffer.from(m.name), value: Buffer.from(m.value) }));

/** True when two images are the same bytes (root pointers, first-seen, meta and latest members in order). */
export function sameImage(a: InstanceImage, b: InstanceImage): boolean {
  const sameMembers = (x: ImageMember[], y: ImageMember[]): boolean => x.length === y.length && x.every((m, i) => m.name.equals(y[i]!.name) && m.value.equals(y[i]!.value));
  return (
    a.deviceId === b.deviceId &&
    a.firstSeen === b.firstSeen &&
    a.meta.equals(b.meta) &&
    a.latest.equals(b.latest) &&
    a.readings.equals(b.readings) &&
    a.ids.equals(b.ids) &&
    sameMembers(a.metaMembers, b.metaMembers) &&
    sameMembers(a.latestMembers, b.latestMembers)
  );
}

/** The image of the instance, or null when it has no root yet. */
export function exportImage(txn: ReadTxn): InstanceImage | null {
  const root = readRoot(txn);
  if (root === null) return null;
  return {
    deviceId: root.deviceId,
    firstSeen: root.firstSeen,
    meta: root.meta,
    latest: root.latest,
    readings: root.readings,
    ids: root.ids,
    metaMembers: members(txn, root.meta),
    latestMembers: members(txn, root.latest),
  };
}

function bad(why: string): LmjError {
  return new LmjError('BAD_BATCH', `instance image: ${why}`);
}

/** Throws BAD_BATCH unless `v` is a well-formed image for `deviceId`. */
export function checkImage(v: unknown, deviceId: string): InstanceImage {
  const o = v as Partial<Record<keyof InstanceImage, unknown>> | null;
  if (o === null || typeof o !== 'object') throw bad('not a map');
  if (o.deviceId !== deviceId) throw bad('names another device');
  if (typeof o.firstSeen !== 'number' || !Number.isSafeInteger(o.firstSeen) || o.firstSeen < 0) throw bad('bad first_seen');
  for (const k of ['meta', 'latest', 'readings', 'ids'] as const) {
    const p = o[k];
    if (!(p instanceof Uint8Array) || p.length !== PTR_LEN) throw bad(`${k} is not a pointer`);
  }
  for (const k of ['metaMembers', 'latestMembers'] as const) {
    const list = o[k];
    if (!Array.isArray(list) || list.some((m: { name?: unknown; value?: unknown }) => !(m?.name instanceof Uint8Array) || !(m.value instanceof Uint8Array) || m.name.length < 1 || m.name.length > MAX_MEMBER_NAME_LEN)) {
      throw bad(`${k} must be members of 1..${MAX_MEMBER_NAME_LEN}-byte names`);
    }
  }
  const buf = (b: unknown): Buffer => Buffer.from(b as Uint8Array);
  return {
    deviceId,
    firstSeen: o.firstSeen,
    meta: buf(o.meta),
    latest: buf(o.latest),
    readings: buf(o.readings),
    ids: buf(o.ids),
    metaMembers: (o.metaMembers as ImageMember[]).map((m) => ({ name: buf(m.name), value: buf(m.value) })),
    latestMembers: (o.latestMembers as ImageMember[]).map((m) => ({ name: buf(m.name), value: buf(m.value) })),
  };
}

/**
 * Writes the image: creates the root as `ensureRoot` would, but with the source's
 * pointers (no readings yet: count 0, first and last seen at the source's first seen, so
 * the records applied next bring them to the source's values), then puts the `meta` and
 * `latest` members. An existing root must have the same pointers (else BAD_BATCH).
 */
export function applyImage(txn: WriteTxn, image: InstanceImage): void {
  const root = readRoot(txn);
  if (root === null) {
    txn.objRegister(ROOT_PTR);
    txn.objRegister(image.meta);
    txn.objRegister(image.latest);
    txn.setRegister(image.readings);
    txn.objRegister(image.ids);
    txn.memberPut(ROOT_PTR, ROOT.deviceId, cborText(image.deviceId));
    txn.memberPut(ROOT_PTR, ROOT.firstSeen, cborUint(image.firstSeen));
    txn.memberPut(ROOT_PTR, ROOT.lastSeen, cborUint(image.firstSeen));
    txn.memberPut(ROOT_PTR, ROOT.readingCount, cborUint(0));
    txn.memberPut(ROOT_PTR, ROOT.meta, image.meta);
    txn.memberPut(ROOT_PTR, ROOT.latest, image.latest);
    txn.memberPut(ROOT_PTR, ROOT.readings, image.readings);
    txn.memberPut(ROOT_PTR, ROOT.ids, image.ids);
  } else if (!root.meta.equals(image.meta) || !root.latest.equals(image.latest) || !root.readings.equals(image.readings) || !root.ids.equals(image.ids)) {
    throw bad('the copy has another root than the source (a stale copy: the move starts it again)');
  }
  for (const m of image.metaMembers) txn.memberPut(image.meta, m.name, m.value);
  for (const m of image.latestMembers) txn.memberPut(image.latest, m.name, m.value);
}
