/**
 * Range splits (docs/cluster.md, Splits): one range `from..to` becomes `from..at-1` and
 * `at..to` in ONE etcd transaction that compares the table header's and the range's
 * mod revisions (as every table change does) and that no range starts at `at` yet. Both
 * halves keep the range's owner and epoch: ranges only ever split, never merge, so a
 * claim routed with the whole range at that epoch still names the same owner, and a
 * data node accepts it for either half (`checkEpoch`). A split never touches data: the
 * owner holds the devices of both halves already.
 */
import type { Namespace } from 'etcd3';
import { LmjError } from '../errors.js';
import { etcdCall } from './etcd-client.js';
import { META_KEY, PARTITIONS, RANGES_PREFIX, rangeKey } from './keys.js';
import { isTerminal } from './move-record.js';
import { listMoves } from './moves.js';
import { encodeRecord, type RangeRecord, type TableMeta } from './records.js';
import { MIN_PARTITIONS_PER_RANGE, readRange } from './table-store.js';

/** What `cluster split` asks for: the range by its exact bounds, and the first partition of the upper half. */
export interface SplitRequest {
  from: number;
  to: number;
  at: number;
}

/** A committed split: both halves, the table version and the etcd revision of the commit. */
export interface SplitResult {
  lower: RangeRecord;
  upper: RangeRecord;
  version: number;
  revision: number;
}

/** Commit attempts when only the table header moved in between (another range changed). */
const ATTEMPTS = 5;
/** At most as many ranges as `init` can make (4,096): a full read of the table stays small. */
const MAX_RANGES = PARTITIONS / MIN_PARTITIONS_PER_RANGE;

/**
 * Splits the range `from..to` at `at` (the upper half starts there). Refuses, changing
 * nothing: RANGE_NOT_FOUND when FROM-TO are not one range's boundaries; SPLIT_BAD_POINT
 * when `at` is not inside the range or is its first partition; SPLIT_CONFLICT when the
 * range is fenced, has a learner, is the range of a move that has not ended, or kept
 * changing during the request, and when the table holds 4,096 ranges already.
 */
export async function splitRange(client: Namespace, req: SplitRequest): Promise<SplitResult> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const read = await readRange(client, req.from);
    const r = read.range;
    if (r.from !== req.from || r.to !== req.to) {
      throw new LmjError('RANGE_NOT_FOUND', `no range ${req.from}-${req.to}: partition ${req.from} is in range ${r.from}-${r.to}`, { details: { from: req.from, to: req.to, range: { from: r.from, to: r.to } } });
    }
    if (!Number.isSafeInteger(req.at) || req.at <= r.from || req.at > r.to) {
      throw new LmjError('SPLIT_BAD_POINT', `cannot split range ${r.from}-${r.to} at ${req.at}: the upper half's first partition must be ${r.from + 1}..${r.to}`, {
        details: { from: r.from, to: r.to, at: req.at },
      });
    }
    if (r.fenced === true || (r.learner !== undefined && r.learner !== null)) {
      throw new LmjError('SPLIT_CONFLICT', `range ${r.from}-${r.to} is ${r.fenced === true ? 'fenced' : `moving to ${r.learner?.id ?? '?'}`}: split it once the move has ended`, { details: { from: r.from } });
    }
    const ranges = await etcdCall('count the ranges', () => client.getAll().prefix(RANGES_PREFIX).count());
    if (ranges >= MAX_RANGES) throw new LmjError('SPLIT_CONFLICT', `the table holds ${ranges} ranges, the most it may hold: nothing was split`, { details: { from: r.from, ranges } });
    // A move past its flip holds no learner any more but has not ended: its record names these bounds.
    const active = (await listMoves(client)).moves.find((m) => !isTerminal(m.move.phase) && m.move.range.from <= r.to && m.move.range.to >= r.from);
    if (active !== undefined) {
      throw new LmjError('SPLIT_CONFLICT', `range ${r.from}-${r.to} is in move ${active.move.id} (${active.move.phase}): split it once the move has ended`, { details: { from: r.from, move: active.move.id } });
    }
    const lower: RangeRecord = { format: r.format, from: r.from, to: req.at - 1, owner: r.owner, epoch: r.epoch };
    const upper: RangeRecord = { format: r.format, from: req.at, to: r.to, owner: r.owner, epoch: r.epoch };
    const meta: TableMeta = { ...read.meta, version: read.meta.version + 1 };
    const res = await etcdCall('split a range', () =>
      client
        .if(META_KEY, 'Mod', '==', read.metaModRevision)
        .and(rangeKey(r.from), 'Mod', '==', read.rangeModRevision)
        .and(rangeKey(req.at), 'Create', '==', 0)
        .then(client.put(rangeKey(r.from)).value(encodeRecord(lower)), client.put(rangeKey(req.at)).value(encodeRecord(upper)), client.put(META_KEY).value(encodeRecord(meta)))
        .commit(),
    );
    if (res.succeeded) return { lower, upper, version: meta.version, revision: Number(res.header.revision) };
    // Lost to another change: read again; the checks above refuse when it was this range's.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
  }
  throw new LmjError('SPLIT_CONFLICT', `range ${req.from}-${req.to}: the table kept changing during ${ATTEMPTS} attempts; nothing was split`, { details: { from: req.from } });
}
