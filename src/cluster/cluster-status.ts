/**
 * One read of everything an operator asks about a cluster (`lmj-edge cluster status|nodes`,
 * health endpoints): etcd's members and leader, the table's header and counts, and every
 * node — registered or live — with its load and the ranges it owns. An invalid table is
 * reported as an error in the result, not thrown, so the status of a broken cluster can
 * still be read.
 */
import type { Etcd3 } from 'etcd3';
import { isLmjError } from '../errors.js';
import { etcdCall } from './etcd-client.js';
import { listLiveNodes, listNodes } from './membership.js';
import type { LoadFigures } from './records.js';
import { readTable } from './table-store.js';
import type { ClusterTable } from './table.js';

/** A data node as the status reports it. */
export interface NodeStatus {
  id: string;
  live: boolean;
  address: string | null;
  ranges: number;
  load: LoadFigures | null;
  capacity: { devices: number; bytes: number } | null;
  updatedAt: number | null;
}

/** The result of {@link readClusterStatus}. */
export interface ClusterStatus {
  etcd: { members: { name: string; clientUrls: string[] }[]; leader: string; version: string; dbSize: number };
  table:
    | { initialized: false }
    | { initialized: true; version: number; revision: number; partitionsPerRange: number; ranges: number; owned: number; unassigned: number; groups: number }
    | { initialized: false; error: { code: string; message: string; details?: Record<string, unknown> } };
  nodes: NodeStatus[];
  /** Node and live-node values that failed to decode. */
  invalidNodeRecords: number;
  invalidLiveRecords: number;
}

/** Reads the cluster's status. Throws CLUSTER_UNAVAILABLE when etcd cannot be reached. */
export async function readClusterStatus(client: Etcd3): Promise<ClusterStatus> {
  const [status, members] = await Promise.all([
    etcdCall('read the etcd status', () => client.maintenance.status()),
    etcdCall('list the etcd members', () => client.cluster.memberList({})),
  ]);
  const leader = members.members.find((m) => m.ID === status.leader);
  let table: ClusterTable | null = null;
  let tableStatus: ClusterStatus['table'] = { initialized: false };
  try {
    table = await readTable(client);
    if (table !== null) {
      const owned = table.ranges.filter((r) => r.owner !== null).length;
      tableStatus = {
        initialized: true,
        version: table.version,
        revision: table.revision,
        partitionsPerRange: table.meta.partitionsPerRange,
        ranges: table.ranges.length,
        owned,
        unassigned: table.ranges.length - owned,
        groups: table.groups.size,
      };
    }
  } catch (err) {
    if (!isLmjError(err) || err.code === 'CLUSTER_UNAVAILABLE') throw err;
    tableStatus = { initialized: false, error: err.toJSON() };
  }
  const [registered, live] = await Promise.all([listNodes(client), listLiveNodes(client)]);
  const counts = table?.rangesPerOwner() ?? new Map<string, number>();
  const ids = new Set([...registered.nodes.map((n) => n.id), ...live.nodes.map((n) => n.id)]);
  const nodes = [...ids].sort().map((id): NodeStatus => {
    const l = live.nodes.find((n) => n.id === id);
    return {
      id,
      live: l !== undefined,
      address: l === undefined ? null : `${l.address.host.includes(':') ? `[${l.address.host}]` : l.address.host}:${l.address.port}`,
      ranges: counts.get(id) ?? 0,
      load: l?.load ?? null,
      capacity: l?.capacity ?? null,
      updatedAt: l?.updatedAt ?? null,
    };
  });
  return {
    etcd: {
      members: members.members.map((m) => ({ name: m.name, clientUrls: [...m.clientURLs] })),
      leader: leader?.name ?? status.leader,
      version: status.version,
      dbSize: Number(status.dbSize),
    },
    table: tableStatus,
    nodes,
    invalidNodeRecords: registered.invalid,
    invalidLiveRecords: live.invalid,
  };
}
