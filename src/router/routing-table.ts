/**
 * The routing table: partition (pointer bytes 1–2, `codec.partitionOf(deviceId)`) →
 * data node. Contiguous partition ranges, so moving a range to a new node is one
 * entry change. Behind the {@link RoutingTable} interface so the single-process
 * router's JSON file (`DATA/router/routing.json`) can be replaced by etcd (one key
 * per range, watched) without touching the apply or query paths.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LmjError } from '../errors.js';

/** Number of partitions (16-bit). */
export const PARTITIONS = 65536;

/** A data node: an id and its data directory relative to the router's data dir. */
export interface NodeInfo {
  id: string;
  dir: string;
}

/** One range of partitions, both ends inclusive. */
export interface PartitionRange {
  from: number;
  to: number;
  node: string;
}

/** The table's serialized form (version bumps on every change, as an etcd revision would). */
export interface RoutingTableData {
  version: number;
  nodes: NodeInfo[];
  ranges: PartitionRange[];
}

/** What the router asks the table. */
export interface RoutingTable {
  /** The node that holds `partition`. Throws NO_ROUTE when no range covers it. */
  nodeFor(partition: number): string;
  nodes(): readonly NodeInfo[];
  snapshot(): RoutingTableData;
}

/** `n` nodes, partitions split into `n` contiguous ranges of (almost) equal size. */
export function initialTable(n: number): RoutingTableData {
  if (!Number.isSafeInteger(n) || n < 1 || n > 256) throw new LmjError('BAD_CONFIG', 'nodes must be 1..256', { details: { key: 'nodes' } });
  const nodes: NodeInfo[] = [];
  const ranges: PartitionRange[] = [];
  for (let i = 0; i < n; i++) {
    const id = `node-${i}`;
    nodes.push({ id, dir: `nodes/${id}` });
    ranges.push({ from: Math.floor((i * PARTITIONS) / n), to: Math.floor(((i + 1) * PARTITIONS) / n) - 1, node: id });
  }
  return { version: 1, nodes, ranges };
}

/** Throws BAD_CONFIG unless the table covers every partition exactly once with known nodes in safe dirs. */
export function validateTable(t: RoutingTableData): void {
  const bad = (why: string): LmjError => new LmjError('BAD_CONFIG', `invalid routing table: ${why}`, { details: { key: 'routing' } });
  if (t === null || typeof t !== 'object' || !Array.isArray(t.nodes) || !Array.isArray(t.ranges) || !Number.isSafeInteger(t.version)) {
    throw bad('expected {version, nodes, ranges}');
  }
  const ids = new Set<string>();
  for (const n of t.nodes) {
    if (typeof n?.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(n.id)) throw bad('node ids are 1..64 of A-Z a-z 0-9 _ -');
    // Node dirs stay inside the data directory.
    if (typeof n.dir !== 'string' || !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(n.dir)) throw bad(`node ${n.id}: dir must be a relative path of plain names`);
    if (ids.has(n.id)) throw bad(`node ${n.id} listed twice`);
    ids.add(n.id);
  }
  const sorted = [...t.ranges].sort((a, b) => a.from - b.from);
  let next = 0;
  for (const r of sorted) {
    if (!Number.isSafeInteger(r.from) || !Number.isSafeInteger(r.to) || r.from !== next || r.to < r.from) throw bad(`ranges must cover 0..${PARTITIONS - 1} without gaps or overlaps`);
    if (!ids.has(r.node)) throw bad(`range ${r.from}..${r.to} names unknown node ${String(r.node)}`);
    next = r.to + 1;
  }
  if (next !== PARTITIONS) throw bad(`ranges must cover 0..${PARTITIONS - 1}`);
}

/** The single-process table, kept in a JSON file. */
export class LocalRoutingTable implements RoutingTable {
  private readonly byPartition: Uint16Array;
  private readonly nodeIds: string[];

  private constructor(private readonly data: RoutingTableData) {
    validateTable(data);
    this.nodeIds = data.nodes.map((n) => n.id);
    this.byPartition = new Uint16Array(PARTITIONS);
    for (const r of data.ranges) this.byPartition.fill(this.nodeIds.indexOf(r.node), r.from, r.to + 1);
  }

  /**
   * Loads `file`, or creates it with `nodes` nodes. An existing table wins; asking for a
   * different node count is BAD_CONFIG (adding nodes moves data: a separate operation).
   */
  static openOrCreate(file: string, nodes: number | undefined): LocalRoutingTable {
    if (existsSync(file)) {
      let data: RoutingTableData;
      try {
        data = JSON.parse(readFileSync(file, 'utf8')) as RoutingTableData;
      } catch (cause) {
        throw new LmjError('BAD_CONFIG', `routing table ${file} is unreadable: ${(cause as Error).message}`, { cause });
      }
      const table = new LocalRoutingTable(data);
      if (nodes !== undefined && nodes !== data.nodes.length) {
        throw new LmjError('BAD_CONFIG', `routing table ${file} has ${data.nodes.length} nodes, --nodes asks for ${nodes}`, { details: { key: 'nodes' } });
      }
      return table;
    }
    const table = new LocalRoutingTable(initialTable(nodes ?? 1));
    mkdirSync(dirname(file), { recursive: true });
    // Write-then-rename: a crash never leaves a half-written table.
    writeFileSync(`${file}.tmp`, `${JSON.stringify(table.data, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    return table;
  }

  nodeFor(partition: number): string {
    if (!Number.isInteger(partition) || partition < 0 || partition >= PARTITIONS) {
      throw new LmjError('NO_ROUTE', `no node for partition ${partition}`, { details: { partition } });
    }
    return this.nodeIds[this.byPartition[partition] ?? 0] as string;
  }

  nodes(): readonly NodeInfo[] {
    return this.data.nodes;
  }

  snapshot(): RoutingTableData {
    return JSON.parse(JSON.stringify(this.data)) as RoutingTableData;
  }
}
