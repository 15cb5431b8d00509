/**
 * The router's device directory (`DATA/router/`): the device list across all nodes
 * (the shared DeviceRegistry of src/devices/) and where each device lives — the gateway
 * that last sent it and the node that holds it. Derived data: rebuilt from the nodes'
 * directories when missing (the gateway reported is then unknown until its next batch).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { reconcileRegistry } from '../devices/rebuild.js';
import { DeviceRegistry, type DeviceListEntry } from '../devices/registry.js';
import type { DataNodes } from './data-nodes.js';

/** Where a device is held. */
export interface DeviceLocation {
  gateway: string | null;
  node: string;
  /** Last batch applied for it, Unix ms. */
  at: number | null;
}

/** Device list + locations. */
export class DeviceDirectory {
  readonly registry: DeviceRegistry;
  private readonly locations: RootDatabase<{ gateway: string; at: number }, string>;

  /** `sub`: the directory under `dataDir` (`router` for the single-process router, `node` for a data node). */
  constructor(dataDir: string, sub = 'router') {
    const dir = join(dataDir, sub);
    mkdirSync(dir, { recursive: true });
    // Both fsync their commits (off the apply path): an unsynced LMDB env can be torn by a
    // power cut and then crash the process that maps it (found by the power-cut harness).
    this.registry = new DeviceRegistry(join(dir, 'registry'), true);
    this.locations = open<{ gateway: string; at: number }, string>({ path: join(dir, 'locations'), noSync: false, overlappingSync: false });
  }

  /** Adds devices found on the nodes' disks but missing from the list (after a crash). */
  async reconcile(nodes: DataNodes): Promise<void> {
    for (const node of nodes.all()) await reconcileRegistry(node.dir, node.pool, this.registry).catch(() => 0);
  }

  /** Notes an applied batch part; committed in the background (listing waits for it, the apply path does not). */
  note(entry: DeviceListEntry, gateway: string): void {
    this.registry.update([entry]);
    void this.locations.put(entry.id, { gateway, at: Date.now() }).catch(() => undefined);
  }

  /** Gateway and time of the last batch for a device, if any. */
  lastBatch(deviceId: string): { gateway: string; at: number } | undefined {
    return this.locations.get(deviceId);
  }

  async close(): Promise<void> {
    await this.registry.close();
    await this.locations.close();
  }
}
