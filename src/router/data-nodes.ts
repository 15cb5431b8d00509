/**
 * Data nodes of a single-process router: one directory per node
 * (`DATA/nodes/<node>/devices/<deviceId>/`), each with its own per-device instance
 * pool (the gateway's pool, reused). Which node holds a device is the routing table's
 * answer for the device's partition — the same partition its pointers carry.
 */
import { join } from 'node:path';
import { getCodec } from '../codec/index.js';
import type { Codec } from '../codec/types.js';
import type { Durability } from '../core/types.js';
import { createPool, deriveMaxOpen, softFdLimit, type DevicePool } from '../devices/pool/index.js';
import type { RoutingTable } from './routing-table.js';

/** One data node. */
export interface DataNode {
  id: string;
  /** Absolute data directory of the node. */
  dir: string;
  pool: DevicePool;
}

/** Options of {@link DataNodes}. */
export interface DataNodesOptions {
  dataDir: string;
  table: RoutingTable;
  durability?: Durability;
  codec?: Codec;
  /** Most instances open at once over all nodes (default from the fd limit). */
  maxOpen?: number;
}

/** The router's data nodes and the device → node lookup. */
export class DataNodes {
  private readonly nodes = new Map<string, DataNode>();
  private readonly codec: Codec;

  constructor(private readonly opts: DataNodesOptions) {
    this.codec = opts.codec ?? getCodec();
    const list = opts.table.nodes();
    const total = opts.maxOpen ?? deriveMaxOpen(softFdLimit());
    const perNode = Math.max(1, Math.floor(total / list.length));
    for (const n of list) {
      const dir = join(opts.dataDir, n.dir);
      this.nodes.set(n.id, {
        id: n.id,
        dir,
        pool: createPool({ dataDir: dir, codec: this.codec, durability: opts.durability ?? 'safe', maxOpen: perNode }),
      });
    }
  }

  /** The partition of a device id. */
  partitionOf(deviceId: string): number {
    return this.codec.partitionOf(deviceId);
  }

  /** The node the routing table names for the device. Throws NO_ROUTE. */
  nodeOf(deviceId: string): DataNode {
    const id = this.opts.table.nodeFor(this.codec.partitionOf(deviceId));
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`routing table names node ${id} that is not open`);
    return node;
  }

  all(): DataNode[] {
    return [...this.nodes.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((n) => n.pool.close()));
  }
}
