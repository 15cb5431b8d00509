/**
 * One validated snapshot of the routing table as read from etcd: partition → range →
 * owner and epoch, plus the nodes and groups an owner may name. Built from the decoded
 * keys (see {@link KeyCache}); anything inconsistent — a bad value, a gap or overlap
 * between ranges, a range naming an unknown owner, a newer format version — throws
 * TABLE_INVALID / TABLE_FORMAT_UNSUPPORTED, so a caller keeps the last good snapshot.
 */
import { LmjError } from '../errors.js';
import { GROUPS_PREFIX, META_KEY, NODES_PREFIX, PARTITIONS, RANGES_PREFIX, TABLE_PREFIX, rangeFromKey } from './keys.js';
import { decodeGroup, decodeMeta, decodeNode, decodeRange, type GroupRecord, type NodeRecord, type Owner, type TableMeta } from './records.js';

/** A range as the table serves it, with the etcd mod revision of its key. */
export interface RangeEntry {
  from: number;
  to: number;
  owner: Owner | null;
  epoch: number;
  /** A move's target while the move runs (not writable). */
  learner: Owner | null;
  /** A move's fence is up: the owner refuses writes. */
  fenced: boolean;
  modRevision: number;
}

/** The shape of {@link ClusterTable.snapshot}: the single-process router's table shape plus epochs and owners. */
export interface ClusterTableData {
  /** The table's version (TableMeta.version). */
  version: number;
  /** The etcd revision this snapshot was read at. */
  revision: number;
  partitionsPerRange: number;
  /** Registered data nodes; `dir` is the node's directory in a single-process layout. */
  nodes: { id: string; dir: string }[];
  groups: { id: string; routers: string[] }[];
  /** Owned ranges; `node` is the owner's id (a node or a group, see `owner.kind`). */
  ranges: { from: number; to: number; node: string; owner: Owner; epoch: number }[];
  /** Ranges nobody owns yet (assigned on the first batch for one of their partitions). */
  unassigned: { from: number; to: number; epoch: number }[];
}

/** A raw value with its mod revision. */
export interface RawValue {
  value: Buffer;
  modRevision: number;
}

/** A validated routing table. Immutable. */
export class ClusterTable {
  private constructor(
    readonly meta: TableMeta,
    readonly metaModRevision: number,
    /** The etcd revision the table was read at. */
    readonly revision: number,
    readonly ranges: readonly RangeEntry[],
    readonly nodes: ReadonlyMap<string, NodeRecord>,
    readonly groups: ReadonlyMap<string, GroupRecord>,
    private readonly byPartition: Uint16Array,
  ) {}

  /** The table's version (increments with every change). */
  get version(): number {
    return this.meta.version;
  }

  /**
   * Validates the table keys (`TABLE_PREFIX`, `NODES_PREFIX`, `GROUPS_PREFIX`; other keys are
   * ignored). Returns null while the table is not initialized (no meta, or `init` still
   * writing); throws TABLE_INVALID or TABLE_FORMAT_UNSUPPORTED.
   */
  static build(kvs: ReadonlyMap<string, RawValue>, revision: number): ClusterTable | null {
    const metaRaw = kvs.get(META_KEY);
    if (metaRaw === undefined) return null;
    // The header first: a newer format version must win over whatever else looks wrong.
    const meta = decodeMeta(META_KEY, metaRaw.value);
    if (meta.state !== 'ready') return null;
    const nodes = new Map<string, NodeRecord>();
    const groups = new Map<string, GroupRecord>();
    const ranges: RangeEntry[] = [];
    for (const [key, raw] of kvs) {
      if (key === META_KEY) continue;
      if (key.startsWith(RANGES_PREFIX)) {
        const from = rangeFromKey(key);
        if (from === undefined) throw new LmjError('TABLE_INVALID', `${key}: not a range key`, { details: { key } });
        const r = decodeRange(key, raw.value);
        if (r.from !== from) throw new LmjError('TABLE_INVALID', `${key}: holds a range from ${r.from}`, { details: { key } });
        ranges.push({ from: r.from, to: r.to, owner: r.owner, epoch: r.epoch, learner: r.learner ?? null, fenced: r.fenced === true, modRevision: raw.modRevision });
      } else if (key.startsWith(TABLE_PREFIX)) {
        throw new LmjError('TABLE_INVALID', `${key}: unknown table key`, { details: { key } });
      } else if (key.startsWith(NODES_PREFIX)) {
        const n = decodeNode(key, raw.value);
        if (`${NODES_PREFIX}${n.id}` !== key) throw new LmjError('TABLE_INVALID', `${key}: holds node ${n.id}`, { details: { key } });
        nodes.set(n.id, n);
      } else if (key.startsWith(GROUPS_PREFIX)) {
        const g = decodeGroup(key, raw.value);
        if (`${GROUPS_PREFIX}${g.id}` !== key) throw new LmjError('TABLE_INVALID', `${key}: holds group ${g.id}`, { details: { key } });
        groups.set(g.id, g);
      }
    }
    ranges.sort((a, b) => a.from - b.from);
    const byPartition = new Uint16Array(PARTITIONS);
    let next = 0;
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i] as RangeEntry;
      if (r.from !== next) {
        const why = r.from < next ? `range ${r.from}..${r.to} overlaps the range before it` : `partitions ${next}..${r.from - 1} are in no range`;
        throw new LmjError('TABLE_INVALID', `invalid routing table: ${why}`, { details: { from: r.from, to: r.to } });
      }
      if (r.owner !== null && !(r.owner.kind === 'node' ? nodes.has(r.owner.id) : groups.has(r.owner.id))) {
        throw new LmjError('TABLE_INVALID', `invalid routing table: range ${r.from}..${r.to} names unknown ${r.owner.kind} ${r.owner.id}`, {
          details: { from: r.from, to: r.to, owner: r.owner },
        });
      }
      if (r.learner !== null && !nodes.has(r.learner.id)) {
        throw new LmjError('TABLE_INVALID', `invalid routing table: range ${r.from}..${r.to} names unknown learner node ${r.learner.id}`, { details: { from: r.from, to: r.to, learner: r.learner } });
      }
      byPartition.fill(i, r.from, r.to + 1);
      next = r.to + 1;
    }
    if (next !== PARTITIONS) throw new LmjError('TABLE_INVALID', `invalid routing table: partitions ${next}..${PARTITIONS - 1} are in no range`);
    return new ClusterTable(meta, metaRaw.modRevision, revision, ranges, nodes, groups, byPartition);
  }

  /** The range holding `partition`. Throws BAD_REQUEST for a partition outside 0..65535. */
  rangeOf(partition: number): RangeEntry {
    if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITIONS) {
      throw new LmjError('BAD_REQUEST', `partition must be 0..${PARTITIONS - 1}`, { details: { partition } });
    }
    return this.ranges[this.byPartition[partition] ?? 0] as RangeEntry;
  }

  /** The owner of `partition`. Throws UNASSIGNED (details: partition, from, to, epoch) when nobody owns it yet. */
  ownerOf(partition: number): { owner: Owner; range: RangeEntry } {
    const range = this.rangeOf(partition);
    if (range.owner === null) {
      throw new LmjError('UNASSIGNED', `partition ${partition} has no owner yet`, { details: { partition, from: range.from, to: range.to, epoch: range.epoch } });
    }
    return { owner: range.owner, range };
  }

  /** Number of ranges each owner id holds. */
  rangesPerOwner(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.ranges) if (r.owner !== null) counts.set(r.owner.id, (counts.get(r.owner.id) ?? 0) + 1);
    return counts;
  }

  /** A plain-data copy (for `GET /routing`, `lmj-edge cluster table --json`). */
  snapshot(): ClusterTableData {
    const owned: ClusterTableData['ranges'] = [];
    const unassigned: ClusterTableData['unassigned'] = [];
    for (const r of this.ranges) {
      if (r.owner === null) unassigned.push({ from: r.from, to: r.to, epoch: r.epoch });
      else owned.push({ from: r.from, to: r.to, node: r.owner.id, owner: { ...r.owner }, epoch: r.epoch });
    }
    return {
      version: this.version,
      revision: this.revision,
      partitionsPerRange: this.meta.partitionsPerRange,
      nodes: [...this.nodes.keys()].sort().map((id) => ({ id, dir: `nodes/${id}` })),
      groups: [...this.groups.values()].map((g) => ({ id: g.id, routers: [...g.routers] })),
      ranges: owned,
      unassigned,
    };
  }
}
