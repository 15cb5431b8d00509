/**
 * Direct access to a data directory for the CLI (`--data DIR`): device instances
 * are opened one at a time, read-only unless repairing. LMDB allows this while the
 * daemon runs (readers never block the writer; a repair waits for its write lock).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../core/index.js';
import type { LmjStore } from '../core/types.js';
import { LmjError } from '../errors.js';
import { isValidDeviceId } from '../devices/device-id.js';
import { devicesDir, instanceDir } from '../devices/layout.js';

/** The instance directory of a device (validated id; never a path outside DIR/devices). */
export function devicePath(dataDir: string, deviceId: string): string {
  return instanceDir(dataDir, deviceId);
}

/** Opens a device instance, throwing NOT_FOUND when it does not exist (nothing is created). */
export async function withDevice<T>(
  dataDir: string,
  deviceId: string,
  fn: (store: LmjStore) => T | Promise<T>,
  writable = false,
): Promise<T> {
  const path = devicePath(dataDir, deviceId);
  if (!existsSync(join(path, 'data.mdb'))) {
    throw new LmjError('NOT_FOUND', `no device ${deviceId} in ${dataDir}`, { details: { deviceId } });
  }
  const store = openStore(path, writable ? {} : { readOnly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Device ids present in DIR/devices, sorted (invalid directory names are skipped). */
export function listDeviceIds(dataDir: string): string[] {
  const dir = devicesDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isValidDeviceId(e.name))
    .map((e) => e.name)
    .sort();
}
