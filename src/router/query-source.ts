/**
 * The router's read side in the shape the gateway's HTTP API reads from
 * ({@link QuerySource}), so the same routes and handlers serve every device of every
 * gateway: the device list from the router's directory, everything else from the
 * device's instance on its data node, via the same telemetry query functions.
 */
import { getCodec } from '../codec/index.js';
import { entityView } from '../core/telemetry/entity-view.js';
import { deviceSummary, latest, readings } from '../core/telemetry/query.js';
import type { DeviceSummary } from '../core/telemetry/types.js';
import type { LmjStore } from '../core/types.js';
import { LmjError } from '../errors.js';
import type { QuerySource } from '../gateway/http/server.js';
import type { DataNodes } from './data-nodes.js';
import type { DeviceDirectory } from './directory.js';

/** Where a device lives, as the router reports it. */
export interface DeviceLocationView {
  id: string;
  partition: number;
  node: string;
  /** Gateway of the last batch for this device (null when unknown, e.g. rebuilt directory). */
  gateway: string | null;
  lastBatchAt: number | null;
}

/** The router's query source, plus device locations. */
export interface RouterQuerySource extends QuerySource {
  location(deviceId: string): DeviceLocationView;
  deviceSummary(deviceId: string): Promise<DeviceSummary & { location: DeviceLocationView }>;
}

/** Builds the router's query source over its nodes and directory. */
export function routerQuerySource(nodes: DataNodes, directory: DeviceDirectory): RouterQuerySource {
  const use = <T>(id: string, fn: (store: LmjStore) => T): Promise<T> => nodes.nodeOf(id).pool.use(id, fn);
  const orNotFound = <T>(id: string, v: T | null): T => {
    if (v === null) throw new LmjError('NOT_FOUND', `unknown device ${id}`, { details: { deviceId: id } });
    return v;
  };
  const location = (id: string): DeviceLocationView => {
    const last = directory.lastBatch(id);
    return { id, partition: nodes.partitionOf(id), node: nodes.nodeOf(id).id, gateway: last?.gateway ?? null, lastBatchAt: last?.at ?? null };
  };
  return {
    location,
    listDevices: async (query) => directory.registry.list(query),
    deviceSummary: async (id) => ({ ...orNotFound(id, await use(id, (s) => s.read((txn) => deviceSummary(txn)))), location: location(id) }),
    latest: async (id) => orNotFound(id, await use(id, (s) => s.read((txn) => latest(txn)))),
    readings: async (id, query) => use(id, (s) => s.read((txn) => readings(txn, query))),
    async entity(id, ptrHex) {
      const ptr = getCodec().parsePointer(ptrHex);
      return use(id, (s) => s.read((txn) => entityView(txn, ptr)));
    },
    // The router stores no raw messages: bad batches are refused whole, never dead-lettered.
    deadLetters: async () => ({ deadLetters: [], next: null, total: 0, dropped: 0 }),
  };
}
