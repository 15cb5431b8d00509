/**
 * The read paths that walk cursors: a whole object (names from `set`, values from
 * `main`) and a byte range of a set's elements.
 */
import { LmjError } from '../errors.js';
import { PTR_LEN } from '../codec/types.js';
import { prefixEnd, toBuffer } from './bytes.js';
import type { EngineContext } from './engine-context.js';
import type { Member, ObjectResult, RangeOptions, ReadError } from './types.js';

/**
 * Byte order of `name` against the name part of a `ptr ‖ name` key (memcmp, then
 * shorter first: LMDB's order). A JS loop: names are short, and a subarray plus a
 * native compare per entry cost more than the loop.
 */
function compareNameToKey(name: Buffer, key: Buffer): number {
  const keyLen = key.length - PTR_LEN;
  const n = name.length < keyLen ? name.length : keyLen;
  for (let j = 0; j < n; j++) {
    const d = name[j]! - key[PTR_LEN + j]!;
    if (d !== 0) return d;
  }
  return name.length - keyLen;
}

/**
 * All members of an object; missing values and a missing object go to `errors`.
 * Two ordered cursor walks merged: the names in `set` and the `ptr ‖ name` keys in
 * `main` (both sort by the name's bytes). Cheaper than one lookup per member, and
 * ghost keys in `main` are skipped because only registered names are reported.
 */
export function readMembers(ctx: EngineContext, p: Buffer): ObjectResult {
  const h = ctx.h;
  const members: Member[] = [];
  const errors: ReadError[] = [];
  const names: Buffer[] = [];
  let seen = false;
  for (const name of h.set.getValues(p)) {
    seen = true;
    if (name.length > 0) names.push(name);
  }
  if (!seen) {
    errors.push({ code: 'ENTITY_NOT_FOUND', ptr: p });
    return { members, errors };
  }
  if (names.length === 0) return { members, errors };
  let i = 0;
  for (const entry of h.main.getRange({ start: p, end: prefixEnd(p) }) as Iterable<{ key: Buffer; value: Buffer }>) {
    const key = entry.key;
    // Names with no value before this key are missing values.
    while (i < names.length && compareNameToKey(names[i]!, key) < 0) {
      errors.push({ code: 'MEMBER_MISSING', ptr: p, name: names[i]! });
      i++;
    }
    if (i >= names.length) break;
    if (compareNameToKey(names[i]!, key) === 0) {
      members.push({ name: names[i]!, value: entry.value });
      i++;
    }
  }
  for (; i < names.length; i++) errors.push({ code: 'MEMBER_MISSING', ptr: p, name: names[i]! });
  return { members, errors };
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new LmjError('INVALID_PARAM', 'range limit must be a non-negative integer', { details: { limit } });
  }
  return limit;
}

/**
 * Elements of a set in `[from, to)`, as one cursor walk over the key's duplicates.
 * Forward: starts at max(from, after) and skips `after` itself. Reverse: walks down
 * from `to` (exclusive) or `after` (exclusive), stops below `from`.
 */
export function readRange(ctx: EngineContext, p: Buffer, options: RangeOptions): Buffer[] {
  const limit = checkLimit(options.limit);
  const from = options.from === undefined ? undefined : toBuffer(options.from);
  const to = options.to === undefined ? undefined : toBuffer(options.to);
  const after = options.after === undefined ? undefined : toBuffer(options.after);
  const out: Buffer[] = [];
  if (limit === 0) return out;
  const set = ctx.h.set;
  if (options.reverse !== true) {
    let start = from;
    if (after !== undefined && (start === undefined || Buffer.compare(after, start) >= 0)) start = after;
    const q: Record<string, unknown> = {};
    if (start !== undefined && start.length > 0) q['start'] = start;
    if (to !== undefined) q['end'] = to;
    for (const el of set.getValues(p, q)) {
      if (el.length === 0) continue;
      if (after !== undefined && Buffer.compare(el, after) <= 0) continue;
      if (to !== undefined && Buffer.compare(el, to) >= 0) break;
      out.push(el);
      if (out.length >= limit) break;
    }
    return out;
  }
  // lmdb-js reverse dup ranges start at an inclusive upper bound: take the lower of to/after.
  let upper = to;
  if (after !== undefined && (upper === undefined || Buffer.compare(after, upper) < 0)) upper = after;
  const q: Record<string, unknown> = { reverse: true };
  if (upper !== undefined) {
    if (upper.length === 0) return out;
    q['start'] = upper;
  }
  for (const el of set.getValues(p, q)) {
    if (el.length === 0) continue;
    if (upper !== undefined && Buffer.compare(el, upper) >= 0) continue;
    if (from !== undefined && Buffer.compare(el, from) < 0) break;
    out.push(el);
    if (out.length >= limit) break;
  }
  return out;
}
