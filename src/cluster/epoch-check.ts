/**
 * The check a data node runs before applying a batch or answering a query: the request
 * names the range (its first partition) and epoch the router routed with; the node
 * compares them with its own cached table. A refusal carries the current range, epoch
 * and owner in `details`, so a stale router refreshes its table and retries — and
 * nothing is written on a node that does not own the range at that epoch.
 */
import { LmjError } from '../errors.js';
import type { RangeEntry, ClusterTable } from './table.js';

/** What a routed request claims: the partition it is for and the range/epoch it was routed with. */
export interface RouteClaim {
  partition: number;
  /** First partition of the range the router routed with. */
  from: number;
  epoch: number;
}

/** The `details` of a refusal (NOT_OWNER, STALE_EPOCH, EPOCH_AHEAD). */
export interface RefusalDetails {
  partition: number;
  /** The current range holding the partition, in the node's table. */
  from: number;
  to: number;
  epoch: number;
  owner: { kind: 'node' | 'group'; id: string } | null;
  /** The node's table version. */
  version: number;
  /** What the request carried. */
  requested: { from: number; epoch: number };
}

/**
 * Returns the range when `self` owns `claim.partition` at the claimed epoch. The claimed
 * range's first partition may differ from the current one at the same epoch: a split
 * keeps both halves' epoch, and ranges only split (never merge), so the claimed and the
 * current range are one lineage, and an epoch that did not change along it means the
 * owner did not either (a router or this node may not have seen the split yet).
 * Otherwise throws:
 * - STALE_EPOCH: the request's epoch is older, or its range starts after the partition
 *   (the router must refresh);
 * - EPOCH_AHEAD: the request's epoch is newer than this node's table (the node's watch
 *   has not caught up yet; retry shortly);
 * - NOT_OWNER: same epoch, but the range is not this node's (or has no owner);
 * - RANGE_FENCED (writes only, `opts.write`): the range is fenced for a move.
 */
export function checkEpoch(table: ClusterTable, self: string, claim: RouteClaim, opts: { write?: boolean } = {}): RangeEntry {
  const range = table.rangeOf(claim.partition);
  const details: RefusalDetails = {
    partition: claim.partition,
    from: range.from,
    to: range.to,
    epoch: range.epoch,
    owner: range.owner === null ? null : { ...range.owner },
    version: table.version,
    requested: { from: claim.from, epoch: claim.epoch },
  };
  if (claim.epoch < range.epoch || claim.from > claim.partition) {
    throw new LmjError('STALE_EPOCH', `partition ${claim.partition}: routed with epoch ${claim.epoch} of range ${claim.from}, current is epoch ${range.epoch} of range ${range.from}..${range.to}`, {
      details: { ...details },
    });
  }
  if (claim.epoch > range.epoch) {
    throw new LmjError('EPOCH_AHEAD', `partition ${claim.partition}: routed with epoch ${claim.epoch}, this node's table has ${range.epoch}`, { details: { ...details } });
  }
  if (range.owner === null || range.owner.kind !== 'node' || range.owner.id !== self) {
    const who = range.owner === null ? 'nobody' : `${range.owner.kind} ${range.owner.id}`;
    throw new LmjError('NOT_OWNER', `partition ${claim.partition}: range ${range.from}..${range.to} at epoch ${range.epoch} belongs to ${who}, not ${self}`, { details: { ...details } });
  }
  // A move's fence: reads go on, writes wait for the owner to flip (the router retries).
  if (opts.write === true && range.fenced) {
    throw new LmjError('RANGE_FENCED', `partition ${claim.partition}: range ${range.from}..${range.to} is fenced at epoch ${range.epoch} for a move`, { details: { ...details } });
  }
  return range;
}

/** The refusal details of an error answer body `{error: {code, details}}`, when it is a routing refusal. */
export function parseRefusal(body: unknown): { code: 'NOT_OWNER' | 'STALE_EPOCH' | 'EPOCH_AHEAD' | 'RANGE_FENCED'; details: RefusalDetails } | undefined {
  const err = (body as { error?: { code?: unknown; details?: unknown } } | null)?.error;
  const code = err?.code;
  if (code !== 'NOT_OWNER' && code !== 'STALE_EPOCH' && code !== 'EPOCH_AHEAD' && code !== 'RANGE_FENCED') return undefined;
  const d = err?.details as Partial<RefusalDetails> | undefined;
  if (d === undefined || !Number.isSafeInteger(d.epoch) || !Number.isSafeInteger(d.from) || !Number.isSafeInteger(d.partition)) return undefined;
  return { code, details: d as RefusalDetails };
}
