/**
 * The router's read side: the shared read facade (src/devices/read-facade.ts) over the
 * router's directory and data nodes, so the shared HTTP routes serve every device of
 * every gateway, plus where each device lives.
 */
import { getCodec } from '../codec/index.js';
import type { DeviceSummary } from '../core/telemetry/types.js';
import { createDeviceReader, type DeviceReader } from '../devices/read-facade.js';
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

/** The router's read facade, plus device locations. */
export interface RouterQuerySource extends DeviceReader {
  location(deviceId: string): DeviceLocationView;
  deviceSummary(deviceId: string): Promise<DeviceSummary & { location: DeviceLocationView }>;
}

/** Builds the router's read facade over its nodes and directory. */
export function routerQuerySource(nodes: DataNodes, directory: DeviceDirectory): RouterQuerySource {
  const reader = createDeviceReader({ registry: directory.registry, use: (id, fn) => nodes.nodeOf(id).pool.use(id, fn), codec: getCodec() });
  const location = (id: string): DeviceLocationView => {
    const last = directory.lastBatch(id);
    return { id, partition: nodes.partitionOf(id), node: nodes.nodeOf(id).id, gateway: last?.gateway ?? null, lastBatchAt: last?.at ?? null };
  };
  return {
    ...reader,
    location,
    deviceSummary: async (id) => ({ ...(await reader.deviceSummary(id)), location: location(id) }),
  };
}
