/** A generic, JSON-friendly view of any entity by pointer (like lmjcore-web's `GET /obj/{ptr}`). */
import { LmjError } from '../../errors.js';
import type { ReadTxn } from '../types.js';
import { ELEMENT_LEN } from './model.js';
import type { EntityElementView, EntityMemberView, EntityView, EntityViewError } from './types.js';
import { decodeValue, isReference } from './values.js';

/** Default and largest number of set elements in one view. */
export const MAX_VIEW_ELEMENTS = 1000;

function nameView(name: Buffer): { name: string; nameHex?: string } {
  const text = name.toString('utf8');
  return Buffer.from(text, 'utf8').equals(name) ? { name: text } : { name: text, nameHex: name.toString('hex') };
}

function elementView(el: Buffer): EntityElementView {
  if (el.length === ELEMENT_LEN && el[8] === 0x01) {
    return { hex: el.toString('hex'), ts: Number(el.readBigUInt64BE(0)), ref: el.subarray(8).toString('hex') };
  }
  if (isReference(el)) return { hex: el.toString('hex'), ref: el.toString('hex') };
  return { hex: el.toString('hex') };
}

/**
 * Members (object) or elements (set) of `ptr`: references as pointer hex, scalars
 * decoded, missing values and undecodable values listed in `errors`, never thrown.
 * Sets are cut at `limit` elements (default and max 1,000; `truncated` says so).
 * Throws INVALID_POINTER for a pointer that is not 17 bytes with type 0x01/0x02.
 */
export function entityView(txn: ReadTxn, ptr: Uint8Array, limit = MAX_VIEW_ELEMENTS): EntityView {
  if (!isReference(ptr)) throw new LmjError('INVALID_POINTER', 'a pointer is 17 bytes starting with 0x01 or 0x02');
  const p = Buffer.from(ptr);
  const hex = p.toString('hex');
  const errors: EntityViewError[] = [];
  const exists = txn.exists(p);
  if (!exists) {
    errors.push({ code: 'ENTITY_NOT_FOUND', message: 'no entity at this pointer' });
    return { ptr: hex, type: p[0] === 0x01 ? 'object' : 'set', exists, errors };
  }
  if (p[0] === 0x02) {
    const n = Math.max(1, Math.min(limit, MAX_VIEW_ELEMENTS));
    const els = txn.setRange(p, { limit: n + 1 });
    return { ptr: hex, type: 'set', exists, elements: els.slice(0, n).map(elementView), truncated: els.length > n, errors };
  }
  const result = txn.objGet(p);
  const members: EntityMemberView[] = [];
  for (const m of result.members) {
    const nv = nameView(m.name);
    if (isReference(m.value)) {
      members.push({ ...nv, ref: m.value.toString('hex') });
      continue;
    }
    try {
      members.push({ ...nv, value: decodeValue(m.value) });
    } catch (err) {
      members.push(nv);
      errors.push({ code: 'BAD_VALUE', name: nv.name, message: `value is not CBOR (${m.value.length} bytes): ${(err as Error).message}` });
    }
  }
  for (const e of result.errors) {
    if (e.code === 'MEMBER_MISSING' && e.name !== undefined) {
      const nv = nameView(e.name);
      members.push(nv);
      errors.push({ code: 'MEMBER_MISSING', name: nv.name, message: 'member registered without a value' });
    }
  }
  return { ptr: hex, type: 'object', exists, members, errors };
}
