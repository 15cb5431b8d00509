/**
 * Range moves in etcd (docs/cluster.md, Moves): each phase change is ONE transaction that
 * compares the move record's mod revision and, when it touches the range, the range's
 * and the table header's mod revisions — so a move advances exactly once whoever drives
 * it, a cancel and a driver never both win, and the range always has exactly one
 * writable owner: the source until the flip (none writable only while fenced), the
 * target from the flip's transaction on.
 */
import { randomBytes } from 'node:crypto';
import type { Namespace } from 'etcd3';
import { LmjError, isLmjError } from '../errors.js';
import { etcdCall } from './etcd-client.js';
import { FORMAT_VERSION, META_KEY, MOVES_PREFIX, liveKey, moveKey, nodeKey, rangeKey } from './keys.js';
import { decodeMove, isTerminal, type MovePhase, type MoveRecord } from './move-record.js';
import { encodeRecord, type Owner, type RangeRecord, type TableMeta } from './records.js';
import { readRange, type RangeRead } from './table-store.js';

/** A move record as read, with its mod revision (the compare of the next change). */
export interface MoveRead {
  move: MoveRecord;
  modRevision: number;
  /** The range and header as this change left them (a change that wrote them); lets the next change skip reading them. */
  range?: RangeRead;
}

/** What `cluster move` asks for. */
export interface MoveRequest {
  from: number;
  to: number;
  target: string;
  /** Copy bytes per second for this move (default: the driving router's rate). */
  rateBytesPerSec?: number;
}

/** A range record with the move fields set (absent when null/false, so older readers see the same shape). */
function rangeWith(r: RangeRecord, next: { owner?: Owner | null; epoch?: number; learner?: Owner | null; fenced?: boolean }): RangeRecord {
  const out: RangeRecord = { format: r.format, from: r.from, to: r.to, owner: next.owner === undefined ? r.owner : next.owner, epoch: next.epoch ?? r.epoch };
  const learner = next.learner === undefined ? r.learner ?? null : next.learner;
  if (learner !== null) out.learner = learner;
  if (next.fenced ?? r.fenced === true) out.fenced = true;
  return out;
}

/** All move records (oldest first). Bad records are skipped and counted in `invalid`. */
export async function listMoves(client: Namespace): Promise<{ moves: MoveRead[]; invalid: number }> {
  const res = await etcdCall('read the moves', () => client.getAll().prefix(MOVES_PREFIX).exec());
  const moves: MoveRead[] = [];
  let invalid = 0;
  for (const kv of res.kvs) {
    try {
      moves.push({ move: decodeMove(kv.key.toString(), kv.value), modRevision: Number(kv.mod_revision) });
    } catch {
      invalid++;
    }
  }
  moves.sort((a, b) => a.move.createdAt - b.move.createdAt || (a.move.id < b.move.id ? -1 : 1));
  return { moves, invalid };
}

/** One move; MOVE_NOT_FOUND when absent. */
export async function readMove(client: Namespace, id: string): Promise<MoveRead> {
  const key = moveKey(id);
  const res = await etcdCall('read a move', () => client.get(key).exec());
  const kv = res.kvs[0];
  if (kv === undefined) throw new LmjError('MOVE_NOT_FOUND', `no move ${id}`, { details: { move: id } });
  return { move: decodeMove(key, kv.value), modRevision: Number(kv.mod_revision) };
}

/**
 * Records a new move (phase `requested`) and makes the target the range's learner, in
 * one transaction. Refuses, changing nothing: RANGE_NOT_FOUND when FROM-TO are not one
 * range's boundaries (a move takes whole ranges; splitRange cuts one); MOVE_BAD_TARGET for an unknown or
 * dead target or the current owner; MOVE_CONFLICT for a range in another move, without
 * an owner, or one that changed during the request.
 */
export async function requestMove(client: Namespace, req: MoveRequest): Promise<MoveRead> {
  // A lost commit is re-checked from a fresh read: another range's change (a concurrent move's step) only moved the header.
  for (let attempt = 0; attempt < STEP_ATTEMPTS; attempt++) {
    const read = await requestOnce(client, req);
    if (read !== null) return read;
    await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
  }
  throw new LmjError('MOVE_CONFLICT', `range ${req.from}-${req.to} or the table kept changing during the request (or ${req.target} left): nothing was recorded; try again`, { details: { from: req.from } });
}

/** One attempt of {@link requestMove}: null when the transaction lost to another change. */
async function requestOnce(client: Namespace, req: MoveRequest): Promise<MoveRead | null> {
  const read = await readRange(client, req.from);
  const r = read.range;
  if (r.from !== req.from || r.to !== req.to) {
    throw new LmjError('RANGE_NOT_FOUND', `no range ${req.from}-${req.to}: partition ${req.from} is in range ${r.from}-${r.to}; a move takes whole ranges (split first: cluster split)`, {
      details: { from: req.from, to: req.to, range: { from: r.from, to: r.to } },
    });
  }
  if (r.owner === null || r.owner.kind !== 'node') {
    throw new LmjError('MOVE_CONFLICT', `range ${r.from}-${r.to} is ${r.owner === null ? 'not owned by anyone (it holds no data: it is assigned on its first batch)' : `owned by group ${r.owner.id} (moves are between data nodes)`}`, { details: { from: r.from } });
  }
  if (r.owner.id === req.target) throw new LmjError('MOVE_BAD_TARGET', `node ${req.target} already owns range ${r.from}-${r.to}`, { details: { from: r.from, target: req.target } });
  if (r.learner !== undefined && r.learner !== null) {
    const active = (await listMoves(client)).moves.find((m) => m.move.range.from === r.from && !isTerminal(m.move.phase));
    throw new LmjError('MOVE_CONFLICT', `range ${r.from}-${r.to} is already moving to ${r.learner.id}${active === undefined ? '' : ` (move ${active.move.id}, ${active.move.phase})`}`, { details: { from: r.from, move: active?.move.id ?? null } });
  }
  const [known, live] = await Promise.all([
    etcdCall('read the target', () => client.get(nodeKey(req.target)).exists()),
    etcdCall('read the target', () => client.get(liveKey(req.target)).exists()),
  ]);
  if (!known) throw new LmjError('MOVE_BAD_TARGET', `unknown node ${req.target}`, { details: { target: req.target } });
  if (!live) throw new LmjError('MOVE_BAD_TARGET', `node ${req.target} is not live`, { details: { target: req.target } });
  const now = Date.now();
  const move: MoveRecord = {
    format: FORMAT_VERSION,
    id: `m${now.toString(36)}${randomBytes(3).toString('hex')}`,
    range: { from: r.from, to: r.to },
    source: r.owner.id,
    target: req.target,
    phase: 'requested',
    epoch: r.epoch,
    fenceEpoch: null,
    progress: { devicesCopied: 0, devicesTotal: 0, bytes: 0, readings: 0, passes: 0 },
    createdAt: now,
    updatedAt: now,
    fencedAt: null,
    flippedAt: null,
    cleanedAt: null,
    rateBytesPerSec: req.rateBytesPerSec ?? null,
    driver: null,
    error: null,
  };
  const next = rangeWith(r, { learner: { kind: 'node', id: req.target } });
  const res = await etcdCall('record the move', () =>
    client
      .if(META_KEY, 'Mod', '==', read.metaModRevision)
      .and(rangeKey(r.from), 'Mod', '==', read.rangeModRevision)
      .and(liveKey(req.target), 'Create', '>', 0)
      .and(moveKey(move.id), 'Create', '==', 0)
      .then(client.put(rangeKey(r.from)).value(encodeRecord(next)), client.put(META_KEY).value(encodeRecord(nextMeta(read))), client.put(moveKey(move.id)).value(JSON.stringify(move)))
      .commit(),
  );
  return res.succeeded ? { move, modRevision: Number(res.header.revision) } : null;
}

function nextMeta(read: RangeRead): TableMeta {
  return { ...read.meta, version: read.meta.version + 1 };
}

/** Writes `move` over `prev` (compare: prev's mod revision); MOVE_CONFLICT when it changed. */
export async function updateMove(client: Namespace, prev: MoveRead, patch: Partial<Omit<MoveRecord, 'format' | 'id'>>): Promise<MoveRead> {
  const move: MoveRecord = { ...prev.move, ...patch, updatedAt: Date.now() };
  const key = moveKey(move.id);
  const res = await etcdCall('update the move', () => client.if(key, 'Mod', '==', prev.modRevision).then(client.put(key).value(JSON.stringify(move))).commit());
  if (!res.succeeded) throw new LmjError('MOVE_CONFLICT', `move ${move.id} changed since it was read`, { details: { move: move.id } });
  return { move, modRevision: Number(res.header.revision) };
}

/** The range of a move (and the header), read from etcd; MOVE_FAILED when the move's bounds are no longer one range. */
export async function readMoveRange(client: Namespace, m: MoveRecord): Promise<RangeRead> {
  const read = await readRange(client, m.range.from);
  const r = read.range;
  if (r.from !== m.range.from || r.to !== m.range.to) throw new LmjError('MOVE_FAILED', `move ${m.id}: range ${m.range.from}-${m.range.to} no longer exists`, { details: { move: m.id } });
  return read;
}

/** One transaction: the move (compare its mod revision) and the range + header (compare theirs). */
async function commitBoth(client: Namespace, prev: MoveRead, read: RangeRead, range: RangeRecord, patch: Partial<MoveRecord>, extra?: Owner): Promise<MoveRead> {
  const move: MoveRecord = { ...prev.move, ...patch, updatedAt: Date.now() };
  let txn = client
    .if(moveKey(move.id), 'Mod', '==', prev.modRevision)
    .and(META_KEY, 'Mod', '==', read.metaModRevision)
    .and(rangeKey(range.from), 'Mod', '==', read.rangeModRevision);
  if (extra !== undefined) txn = txn.and(nodeKey(extra.id), 'Create', '>', 0);
  const res = await etcdCall(`move ${move.id}: ${move.phase}`, () =>
    txn.then(client.put(rangeKey(range.from)).value(encodeRecord(range)), client.put(META_KEY).value(encodeRecord(nextMeta(read))), client.put(moveKey(move.id)).value(JSON.stringify(move))).commit(),
  );
  if (!res.succeeded) throw new LmjError('MOVE_CONFLICT', `move ${move.id} or its range changed since they were read`, { details: { move: move.id } });
  const revision = Number(res.header.revision);
  // All three keys were written at this revision: what the next change compares against, if nothing else changed them.
  return { move, modRevision: revision, range: { meta: nextMeta(read), metaModRevision: revision, range, rangeModRevision: revision, revision } };
}

function isLearnerOf(r: RangeRecord, m: MoveRecord): boolean {
  return r.learner?.id === m.target && r.owner?.kind === 'node' && r.owner.id === m.source;
}

/**
 * The fence: the range's epoch + 1 with `fenced` set, and the move `fenced`, in one
 * transaction. From then on the source refuses writes for the range (RANGE_FENCED) and
 * routers retry them after the flip. With `read` (readMoveRange, from which the caller
 * learnt the fence epoch ahead: its epoch + 1) the first attempt commits against it.
 */
export async function fenceMove(client: Namespace, prev: MoveRead, read?: RangeRead): Promise<MoveRead> {
  const m = prev.move;
  return commitStep(client, prev, (r) => {
    if (!isLearnerOf(r.range, m) || r.range.fenced === true) throw new LmjError('MOVE_CONFLICT', `move ${m.id}: range ${m.range.from} is not held by this move`, { details: { move: m.id } });
    const epoch = r.range.epoch + 1;
    return { range: rangeWith(r.range, { epoch, fenced: true }), patch: { phase: 'fenced', fenceEpoch: epoch, fencedAt: Date.now() } };
  }, read);
}

/**
 * The flip: owner = target, epoch + 1, learner and fence cleared; the move `flipped` (with
 * `patch`, e.g. the final progress). With the range the fence left (`prev.range`) it
 * commits without reading first, which keeps an etcd round trip out of the fence window;
 * when something changed the header or range meanwhile, it reads them and tries again.
 */
export async function flipMove(client: Namespace, prev: MoveRead, patch: Pick<Partial<MoveRecord>, 'progress'> = {}): Promise<MoveRead> {
  const m = prev.move;
  const target: Owner = { kind: 'node', id: m.target };
  return commitStep(client, prev, (read) => {
    const r = read.range;
    if (!isLearnerOf(r, m) || r.fenced !== true || r.epoch !== m.fenceEpoch) throw new LmjError('MOVE_CONFLICT', `move ${m.id}: range ${m.range.from} is not fenced by this move`, { details: { move: m.id } });
    return { range: rangeWith(r, { owner: target, epoch: r.epoch + 1, learner: null, fenced: false }), patch: { ...patch, phase: 'flipped', flippedAt: Date.now() }, extra: target };
  }, prev.range);
}

/**
 * Ends a move before its flip (`cancelled` by the CLI, `rolled-back` by a driver): the
 * learner goes and a fence comes down (epoch + 1, so a router holding the fenced epoch
 * re-reads), the source stays the owner. MOVE_CONFLICT once the move has flipped or ended.
 */
export async function abortMove(client: Namespace, prev: MoveRead, phase: Extract<MovePhase, 'cancelled' | 'rolled-back'>, error: MoveRecord['error']): Promise<MoveRead> {
  const m = prev.move;
  if (isTerminal(m.phase) || m.phase === 'flipped') throw new LmjError('MOVE_CONFLICT', `move ${m.id} is ${m.phase}: it can no longer be ${phase === 'cancelled' ? 'cancelled' : 'rolled back'}`, { details: { move: m.id, phase: m.phase } });
  return commitStep(client, prev, (read) => {
    const r = read.range;
    if (!isLearnerOf(r, m)) return { range: null, patch: { phase, error } };
    return { range: rangeWith(r, { learner: null, fenced: false, epoch: r.fenced === true ? r.epoch + 1 : r.epoch }), patch: { phase, error } };
  });
}

/** What one phase change writes: the range (null: the move record alone) and the move's new fields. */
interface Step {
  range: RangeRecord | null;
  patch: Partial<MoveRecord>;
  /** A node whose record must exist (the new owner). */
  extra?: Owner;
}

/** Commit attempts of a phase change while only other keys (the header) moved in between. */
const STEP_ATTEMPTS = 5;

/**
 * Commits the step `build` makes from a fresh read of the move's range. Concurrent moves
 * of other ranges change the table header every step compares; when the commit lost
 * only to that (the move record is still the one read), it reads and builds again, so a
 * step of one move is never undone by another move's step. With `first` (the range and
 * header a previous change of this move left), the first attempt skips the read: that
 * keeps an etcd round trip out of the fence window.
 */
async function commitStep(client: Namespace, prev: MoveRead, build: (read: RangeRead) => Step, first?: RangeRead): Promise<MoveRead> {
  for (let attempt = 1; ; attempt++) {
    const unread = attempt === 1 ? first : undefined;
    const read = unread ?? (await readMoveRange(client, prev.move));
    let step: Step;
    try {
      step = build(read);
    } catch (err) {
      // What the previous change left may be outdated by now: judge a fresh read.
      if (unread !== undefined && isLmjError(err, 'MOVE_CONFLICT')) continue;
      throw err;
    }
    if (step.range === null) return updateMove(client, prev, step.patch);
    try {
      return await commitBoth(client, prev, read, step.range, step.patch, step.extra);
    } catch (err) {
      if (!isLmjError(err, 'MOVE_CONFLICT') || attempt >= STEP_ATTEMPTS) throw err;
      const now = await etcdCall('read a move', () => client.get(moveKey(prev.move.id)).exec());
      if (Number(now.kvs[0]?.mod_revision ?? -1) !== prev.modRevision) throw err;
    }
  }
}
