/**
 * Ghost members (docs/storage.md, On-disk format): `main` keys under a pointer whose name is not
 * registered in `set`. `audit` finds them with one ordered walk of `main`;
 * `repair` deletes them inside the caller's write transaction (so all or none).
 */
import { PTR_LEN } from '../codec/types.js';
import { prefixEnd } from './bytes.js';
import type { EngineContext } from './engine-context.js';
import type { GhostMember } from './types.js';

/** Registered names of `p` as latin1 strings (a cheap exact byte key for a JS Set). */
function registeredNames(ctx: EngineContext, p: Buffer): Set<string> {
  const names = new Set<string>();
  for (const v of ctx.h.set.getValues(p)) if (v.length > 0) names.add(v.toString('latin1'));
  return names;
}

/** Ghost members under `ptr`, or in the whole instance when `ptr` is undefined. */
export function auditGhosts(ctx: EngineContext, ptr: Buffer | undefined): GhostMember[] {
  const h = ctx.h;
  const range: Record<string, unknown> = ptr === undefined ? { start: Buffer.alloc(1) } : { start: ptr, end: prefixEnd(ptr) };
  const ghosts: GhostMember[] = [];
  let currentPtr: Buffer | undefined;
  let names = new Set<string>();
  for (const entry of h.main.getRange(range) as Iterable<{ key: Buffer; value: Buffer }>) {
    const key = entry.key;
    const p = key.subarray(0, Math.min(PTR_LEN, key.length));
    // Keys arrive sorted, so each pointer's registered names are loaded once.
    if (currentPtr === undefined || !p.equals(currentPtr)) {
      currentPtr = Buffer.from(p);
      names = key.length >= PTR_LEN ? registeredNames(ctx, currentPtr) : new Set();
    }
    const name = key.subarray(PTR_LEN);
    if (name.length === 0 || !names.has(name.toString('latin1'))) {
      ghosts.push({ ptr: currentPtr, name: Buffer.from(name), value: Buffer.from(entry.value) });
    }
  }
  return ghosts;
}

/** Deletes the listed ghosts that are still ghosts; returns how many were deleted. */
export function repairGhosts(ctx: EngineContext, ghosts: readonly GhostMember[]): number {
  const h = ctx.h;
  let removed = 0;
  for (const g of ghosts) {
    const ptr = Buffer.from(g.ptr);
    const name = Buffer.from(g.name);
    // Never delete a member that has been registered since the audit.
    if (name.length > 0 && ptr.length === PTR_LEN && h.set.doesExist(ptr, name)) continue;
    if (h.main.removeSync(Buffer.concat([ptr, name]))) removed++;
  }
  return removed;
}
