/**
 * The data-directory layout of device instances: `DIR/devices/<deviceId>/`, spelled
 * here once for the gateway, the router's data nodes, sync and the CLI.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertDeviceId, isValidDeviceId } from './device-id.js';

/** Name of the directory (inside a data directory) that holds one instance per device. */
export const DEVICES_DIR_NAME = 'devices';

/** `DIR/devices`. */
export function devicesDir(dataDir: string): string {
  return join(dataDir, DEVICES_DIR_NAME);
}

/** The instance directory of a device; throws BAD_DEVICE_ID (never a path outside `DIR/devices`). */
export function instanceDir(dataDir: string, deviceId: string): string {
  return join(devicesDir(dataDir), assertDeviceId(deviceId));
}

/** Valid device ids with an entry in `DIR/devices` (unsorted; empty when the directory is missing). */
export function deviceIdsOnDisk(dataDir: string): string[] {
  try {
    return readdirSync(devicesDir(dataDir)).filter((id) => isValidDeviceId(id));
  } catch {
    return [];
  }
}
