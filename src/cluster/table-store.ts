/**
 * Changes to the routing table, each one etcd transaction that compares the mod
 * revisions of the keys it read (the table header and the range) and writes the range
 * together with the header's next version — so two writers never both win, and a
 * writer that lost sees TABLE_CONFLICT (or, for {@link assignPartition}, re-reads and
 * takes the winner's answer). Nothing here is read-modify-write without that compare.
 */
import type { Namespace, PutBuilder } from 'etcd3';
import { LmjError, isLmjError } from '../errors.js';
import { etcdCall } from './etcd-client.js';
import { FORMAT_VERSION, LIVE_PREFIX, META_KEY, PARTITIONS, RANGES_PREFIX, ROOT, groupKey, nodeKey, rangeKey } from './keys.js';
import { listLiveNodes } from './membership.js';
import { pickLeastLoaded } from './placement.js';
import { decodeMeta, decodeRange, encodeRecord, type GroupRecord, type LiveNodeRecord, type Owner, type RangeRecord, type TableMeta } from './records.js';
import { ClusterTable, type RawValue } from './table.js';

/** Ranges written per transaction by `init` (etcd's default limit is 128 operations). */
const INIT_CHUNK = 100;

/**
 * Smallest range `init` creates: at most 4,096 ranges, so a full read of the table stays
 * well under gRPC's 4 MiB message limit and a rebuild of the cached view stays cheap.
 */
export const MIN_PARTITIONS_PER_RANGE = 16;

/** What a mutation read: the header and one range, with their mod revisions. */
export interface RangeRead {
  meta: TableMeta;
  metaModRevision: number;
  range: RangeRecord;
  rangeModRevision: number;
  /** etcd revision of the read. */
  revision: number;
}

/** The result of a committed change. */
export interface RangeChange {
  range: RangeRecord;
  /** The table version the change produced. */
  version: number;
  /** etcd revision of the commit. */
  revision: number;
}

/** Reads every table, node and group key and validates them (null: not initialized). */
export async function readTable(client: Namespace): Promise<ClusterTable | null> {
  const res = await etcdCall('read the routing table', () => client.getAll().prefix(ROOT).exec());
  const kvs = new Map<string, RawValue>();
  for (const kv of res.kvs) {
    const key = kv.key.toString();
    if (!key.startsWith(LIVE_PREFIX)) kvs.set(key, { value: kv.value, modRevision: Number(kv.mod_revision) });
  }
  return ClusterTable.build(kvs, Number(res.header.revision));
}

async function readMeta(client: Namespace): Promise<{ meta: TableMeta; modRevision: number; revision: number } | null> {
  const res = await etcdCall('read the table header', () => client.get(META_KEY).exec());
  const kv = res.kvs[0];
  if (kv === undefined) return null;
  return { meta: decodeMeta(META_KEY, kv.value), modRevision: Number(kv.mod_revision), revision: Number(res.header.revision) };
}

/**
 * Creates the table: `65536 / partitionsPerRange` ranges (the last one shorter when it
 * does not divide), all unowned at epoch 0. The header is created first (`initializing`,
 * compare: absent), the ranges are written in chunks that each compare the header, and
 * the header turns `ready` last — readers never see half a table, and an `init` that
 * died midway is resumed by running `init` again with the same size. Throws TABLE_EXISTS.
 */
export async function initTable(client: Namespace, partitionsPerRange = 256): Promise<TableMeta> {
  if (!Number.isSafeInteger(partitionsPerRange) || partitionsPerRange < MIN_PARTITIONS_PER_RANGE || partitionsPerRange > PARTITIONS) {
    throw new LmjError('BAD_REQUEST', `partitions per range must be ${MIN_PARTITIONS_PER_RANGE}..${PARTITIONS}`, { details: { partitionsPerRange } });
  }
  let head = await readMeta(client);
  if (head === null) {
    const meta: TableMeta = { format: FORMAT_VERSION, state: 'initializing', version: 0, partitionsPerRange, createdAt: Date.now() };
    // Losing this race to another init is fine: with the same size both write the same
    // ranges (as a resume would); with another size the check below refuses.
    await etcdCall('create the table header', () => client.if(META_KEY, 'Version', '==', 0).then(client.put(META_KEY).value(encodeRecord(meta))).commit());
    head = await readMeta(client);
  }
  if (head === null) throw new LmjError('TABLE_CONFLICT', 'the table header vanished during init');
  if (head.meta.state === 'ready' || head.meta.partitionsPerRange !== partitionsPerRange) {
    throw new LmjError('TABLE_EXISTS', `the routing table exists (${head.meta.state}, ${head.meta.partitionsPerRange} partitions per range, version ${head.meta.version})`, {
      details: { state: head.meta.state, partitionsPerRange: head.meta.partitionsPerRange, version: head.meta.version },
    });
  }
  const { modRevision } = head;
  for (let from = 0; from < PARTITIONS; from += INIT_CHUNK * partitionsPerRange) {
    const puts: PutBuilder[] = [];
    for (let f = from; f < Math.min(PARTITIONS, from + INIT_CHUNK * partitionsPerRange); f += partitionsPerRange) {
      const range: RangeRecord = { format: FORMAT_VERSION, from: f, to: Math.min(PARTITIONS, f + partitionsPerRange) - 1, owner: null, epoch: 0 };
      puts.push(client.put(rangeKey(f)).value(encodeRecord(range)));
    }
    const res = await etcdCall('write the ranges', () => client.if(META_KEY, 'Mod', '==', modRevision).then(...puts).commit());
    if (!res.succeeded) throw new LmjError('TABLE_CONFLICT', 'the table header changed during init');
  }
  const ready: TableMeta = { ...head.meta, state: 'ready', version: 1 };
  const res = await etcdCall('publish the table', () => client.if(META_KEY, 'Mod', '==', modRevision).then(client.put(META_KEY).value(encodeRecord(ready))).commit());
  if (!res.succeeded) throw new LmjError('TABLE_CONFLICT', 'the table header changed during init');
  return ready;
}

/** Reads the header and the range holding `partition` at one revision. Throws TABLE_NOT_INITIALIZED. */
export async function readRange(client: Namespace, partition: number): Promise<RangeRead> {
  if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITIONS) {
    throw new LmjError('BAD_REQUEST', `partition must be 0..${PARTITIONS - 1}`, { details: { partition } });
  }
  const head = await readMeta(client);
  if (head === null || head.meta.state !== 'ready') throw new LmjError('TABLE_NOT_INITIALIZED', 'the routing table is not initialized: run lmj-edge cluster --etcd URLS init');
  // The last range key at or before the partition, read at the header's revision.
  const res = await etcdCall('read a range', () =>
    client
      .getAll()
      .inRange({ start: RANGES_PREFIX, end: `${rangeKey(partition)}\0` })
      .sort('Key', 'Descend')
      .limit(1)
      .revision(head.revision)
      .exec(),
  );
  const kv = res.kvs[0];
  if (kv === undefined) throw new LmjError('TABLE_INVALID', `no range holds partition ${partition}`, { details: { partition } });
  const range = decodeRange(kv.key.toString(), kv.value);
  if (range.to < partition) throw new LmjError('TABLE_INVALID', `no range holds partition ${partition}`, { details: { partition } });
  return { meta: head.meta, metaModRevision: head.modRevision, range, rangeModRevision: Number(kv.mod_revision), revision: head.revision };
}

/**
 * Commits `next` as the new state of the range `read` saw: one transaction comparing the
 * header's and the range's mod revisions (and that a new owner's record exists), writing
 * the range and the header's next version. Throws TABLE_CONFLICT when either key changed
 * since `read` (nothing is written), BAD_REQUEST when `next` changes the range's bounds,
 * lowers its epoch, or changes its owner without a higher epoch.
 */
export async function commitRangeChange(client: Namespace, read: RangeRead, next: RangeRecord): Promise<RangeChange> {
  const prev = read.range;
  const ownerChanged = JSON.stringify(prev.owner) !== JSON.stringify(next.owner);
  if (next.from !== prev.from || next.to !== prev.to || next.epoch < prev.epoch || (ownerChanged && next.epoch <= prev.epoch)) {
    throw new LmjError('BAD_REQUEST', `range ${prev.from}..${prev.to}: a change keeps the bounds, never lowers the epoch and raises it with a new owner`, {
      details: { from: prev.from, epoch: prev.epoch, next: { from: next.from, to: next.to, epoch: next.epoch } },
    });
  }
  const meta: TableMeta = { ...read.meta, version: read.meta.version + 1 };
  let txn = client.if(META_KEY, 'Mod', '==', read.metaModRevision).and(rangeKey(next.from), 'Mod', '==', read.rangeModRevision);
  if (next.owner !== null) txn = txn.and(ownerKey(next.owner), 'Create', '>', 0);
  const res = await etcdCall('commit a table change', () => txn.then(client.put(rangeKey(next.from)).value(encodeRecord(next)), client.put(META_KEY).value(encodeRecord(meta))).commit());
  if (!res.succeeded) throw new LmjError('TABLE_CONFLICT', `range ${next.from} or the table changed since it was read`, { details: { from: next.from } });
  return { range: next, version: meta.version, revision: Number(res.header.revision) };
}

function ownerKey(owner: Owner): string {
  return owner.kind === 'node' ? nodeKey(owner.id) : groupKey(owner.id);
}

async function checkOwnerExists(client: Namespace, owner: Owner): Promise<void> {
  const exists = await etcdCall('read the owner', () => client.get(ownerKey(owner)).exists());
  if (!exists) throw new LmjError('BAD_REQUEST', `unknown ${owner.kind} ${owner.id}`, { details: { owner } });
}

async function readExact(client: Namespace, from: number, expectEpoch: number | undefined): Promise<RangeRead> {
  const read = await readRange(client, from);
  if (read.range.from !== from) throw new LmjError('NOT_FOUND', `no range starts at ${from} (partition ${from} is in ${read.range.from}..${read.range.to})`, { details: { from } });
  if (expectEpoch !== undefined && read.range.epoch !== expectEpoch) {
    throw new LmjError('TABLE_CONFLICT', `range ${from} is at epoch ${read.range.epoch}, expected ${expectEpoch}`, { details: { from, epoch: read.range.epoch, expected: expectEpoch } });
  }
  return read;
}

/**
 * Sets the owner of the range starting at `from` and increments its epoch, so requests
 * routed with the old owner are refused. `expectEpoch`: fail with TABLE_CONFLICT unless
 * the range is at that epoch (the caller's view). Throws TABLE_CONFLICT when the table
 * changed between the read and the commit.
 */
export async function setOwner(client: Namespace, from: number, owner: Owner, expectEpoch?: number): Promise<RangeChange> {
  await checkOwnerExists(client, owner);
  const read = await readExact(client, from, expectEpoch);
  return commitRangeChange(client, read, { ...read.range, owner: { ...owner }, epoch: read.range.epoch + 1 });
}

/** Increments the epoch of the range starting at `from` (fencing out every router's old view). */
export async function bumpEpoch(client: Namespace, from: number, expectEpoch?: number): Promise<RangeChange> {
  const read = await readExact(client, from, expectEpoch);
  return commitRangeChange(client, read, { ...read.range, epoch: read.range.epoch + 1 });
}

/** Options of {@link assignPartition}. */
export interface AssignOptions {
  /**
   * Ranges per owner id (e.g. from the caller's TableView); read from etcd when absent.
   * The pick is counted into it at once (and taken back when its commit loses), so
   * concurrent assignments that share one map spread over the live nodes instead of all
   * choosing the node that was least loaded when they started.
   */
  rangesPerOwner?: Map<string, number>;
  /** Commit attempts before TABLE_CONFLICT (default 8). */
  maxAttempts?: number;
}

/**
 * Makes sure the range holding `partition` has an owner: when it has none, assigns it to
 * the least-loaded live node (epoch + 1). Concurrent callers agree: the loser of the
 * transaction re-reads and returns the winner's owner. Throws NO_LIVE_NODES when no node
 * is live, TABLE_CONFLICT when every attempt lost to other table changes.
 */
export async function assignPartition(client: Namespace, partition: number, opts: AssignOptions = {}): Promise<RangeChange & { assigned: boolean }> {
  const attempts = opts.maxAttempts ?? 8;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const read = await readRange(client, partition);
    if (read.range.owner !== null) return { range: read.range, version: read.meta.version, revision: read.revision, assigned: false };
    const live = await listLiveNodes(client);
    const counts = opts.rangesPerOwner ?? (await readTable(client))?.rangesPerOwner() ?? new Map<string, number>();
    const node: LiveNodeRecord | undefined = pickLeastLoaded(live.nodes, counts);
    if (node === undefined) throw new LmjError('NO_LIVE_NODES', `no live data node to assign partition ${partition} to`, { details: { partition } });
    counts.set(node.id, (counts.get(node.id) ?? 0) + 1);
    try {
      return { ...(await commitRangeChange(client, read, { ...read.range, owner: { kind: 'node', id: node.id }, epoch: read.range.epoch + 1 })), assigned: true };
    } catch (err) {
      counts.set(node.id, (counts.get(node.id) ?? 1) - 1);
      if (!isLmjError(err, 'TABLE_CONFLICT')) throw err;
    }
    // Lost to another change: back off a little (jittered) so writers do not collide again in lockstep.
    await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
  }
  throw new LmjError('TABLE_CONFLICT', `partition ${partition}: the table kept changing during ${attempts} attempts`, { details: { partition } });
}

/** Creates or updates a router group (a range owner that routes further down). */
export async function putGroup(client: Namespace, id: string, routers: readonly string[]): Promise<GroupRecord> {
  const record: GroupRecord = { format: FORMAT_VERSION, id, routers: [...routers] };
  if (routers.length === 0 || routers.some((u) => !/^https?:\/\/\S+$/.test(u))) {
    throw new LmjError('BAD_REQUEST', 'a group needs at least one http(s) router URL', { details: { group: id } });
  }
  await etcdCall('write the group', () => client.put(groupKey(id)).value(encodeRecord(record)).exec());
  return record;
}
