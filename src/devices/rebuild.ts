/**
 * Keeping a {@link DeviceRegistry} in step with the instances on disk: the registry is
 * derived data, so it is recreated when unreadable and its missing entries are rebuilt
 * from the devices' own roots.
 */
import { rmSync } from 'node:fs';
import { deviceSummary } from '../core/telemetry/query.js';
import { deviceIdsOnDisk } from './layout.js';
import type { DevicePool } from './pool/types.js';
import { DeviceRegistry } from './registry.js';

/**
 * Opens the registry at `dir`, recreating it when it is unreadable (it is derived data).
 * `durable`: fsync each commit, so a power cut cannot leave it torn.
 */
export function openRegistry(dir: string, durable = false): DeviceRegistry {
  try {
    return new DeviceRegistry(dir, durable);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return new DeviceRegistry(dir, durable);
  }
}

/** Rebuilds registry entries by opening the given devices (all on disk when omitted). */
export async function rebuildRegistryEntries(dataDir: string, pool: DevicePool, registry: DeviceRegistry, ids?: Iterable<string>): Promise<number> {
  const list = ids === undefined ? deviceIdsOnDisk(dataDir) : [...ids];
  let rebuilt = 0;
  for (const id of list) {
    try {
      const s = await pool.use(id, (store) => store.read((txn) => deviceSummary(txn)));
      if (s === null) continue;
      registry.update([{ id, firstSeen: s.firstSeen, lastSeen: s.lastSeen, readings: s.readings }]);
      rebuilt++;
    } catch {
      // An unreadable device stays out of the list; its messages report DEVICE_UNAVAILABLE.
    }
  }
  await registry.settle();
  return rebuilt;
}

/** Adds the devices found in `DIR/devices` but missing from the registry (e.g. after a crash). */
export async function reconcileRegistry(dataDir: string, pool: DevicePool, registry: DeviceRegistry): Promise<number> {
  const known = registry.ids();
  const missing = deviceIdsOnDisk(dataDir).filter((id) => !known.has(id));
  return missing.length === 0 ? 0 : rebuildRegistryEntries(dataDir, pool, registry, missing);
}
