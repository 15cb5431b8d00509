/**
 * The routing claim a cluster router sends a data node with every request
 * (`x-lmj-route: <from>:<epoch>[,<from>:<epoch>…]`): the first partition and epoch of
 * each range it routed the request's devices by. The node checks every device against
 * the claim of its range (`checkEpoch`) before it writes or reads anything.
 */
import type { RouteClaim } from '../cluster/index.js';
import { LmjError } from '../errors.js';

/** Header carrying the claims. */
export const ROUTE_HEADER = 'x-lmj-route';
const MAX_CLAIMS = 4096;

/** One range as routed: its first partition and epoch. */
export interface RangeClaim {
  from: number;
  epoch: number;
}

/** Encodes claims for {@link ROUTE_HEADER} (one per range, sorted by `from`). */
export function encodeClaims(claims: Iterable<RangeClaim>): string {
  const byFrom = new Map<number, number>();
  for (const c of claims) byFrom.set(c.from, c.epoch);
  return [...byFrom.entries()].sort((a, b) => a[0] - b[0]).map(([from, epoch]) => `${from}:${epoch}`).join(',');
}

/** Parses {@link ROUTE_HEADER}; throws BAD_REQUEST naming the problem. */
export function decodeClaims(raw: unknown): RangeClaim[] {
  if (typeof raw !== 'string' || raw.length === 0) throw new LmjError('BAD_REQUEST', `missing ${ROUTE_HEADER} header (from:epoch of each routed range)`);
  const parts = raw.split(',');
  if (parts.length > MAX_CLAIMS) throw new LmjError('BAD_REQUEST', `${ROUTE_HEADER}: more than ${MAX_CLAIMS} ranges`);
  const out: RangeClaim[] = [];
  for (const p of parts) {
    const m = /^(\d{1,5}):(\d{1,15})$/.exec(p.trim());
    const from = Number(m?.[1]);
    const epoch = Number(m?.[2]);
    if (m === null || from > 65535 || !Number.isSafeInteger(epoch)) {
      throw new LmjError('BAD_REQUEST', `${ROUTE_HEADER}: expected from:epoch, got ${JSON.stringify(p.slice(0, 40))}`);
    }
    out.push({ from, epoch });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** The claim for `partition`: the routed range starting at or before it (the last such). Throws BAD_REQUEST when none does. */
export function claimFor(claims: readonly RangeClaim[], partition: number): RouteClaim {
  let best: RangeClaim | undefined;
  for (const c of claims) {
    if (c.from > partition) break;
    best = c;
  }
  if (best === undefined) throw new LmjError('BAD_REQUEST', `${ROUTE_HEADER} names no range for partition ${partition}`, { details: { partition } });
  return { partition, from: best.from, epoch: best.epoch };
}
