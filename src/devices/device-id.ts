/**
 * Device id validation. A device id names a directory (`DIR/devices/<id>/`), so it is
 * checked here, at the edge of the process, before it can reach the filesystem.
 */
import { LmjError } from '../errors.js';

/** Longest accepted device id, in characters (all ASCII, so also bytes). */
export const MAX_DEVICE_ID_LEN = 64;

const DEVICE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Why `id` is not a valid device id, or undefined when it is valid.
 * Valid: 1–64 of `A–Z a–z 0–9 - _ .`, not starting with `.` (no hidden directories,
 * no `.`), and no `..` anywhere (so no traversal, nothing that percent-decodes later).
 * Dots elsewhere are fine: `sensor.2`, `v1.2.3`.
 */
export function deviceIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'device id must be a string';
  if (id.length === 0) return 'device id is empty';
  if (id.length > MAX_DEVICE_ID_LEN) return `device id longer than ${MAX_DEVICE_ID_LEN} characters`;
  if (!DEVICE_ID_RE.test(id)) return 'device id may only contain letters, digits, "-", "_" and "."';
  if (id.startsWith('.')) return 'device id may not start with "."';
  if (id.includes('..')) return 'device id may not contain ".."';
  return undefined;
}

/** True when `id` is a valid device id. */
export function isValidDeviceId(id: unknown): id is string {
  return deviceIdProblem(id) === undefined;
}

/** Returns `id` when valid; throws LmjError BAD_DEVICE_ID otherwise. */
export function assertDeviceId(id: unknown): string {
  const problem = deviceIdProblem(id);
  if (problem !== undefined) {
    // Only a bounded, JSON-safe preview of the bad id goes into details (logs, HTTP).
    const preview = typeof id === 'string' ? id.slice(0, 80) : typeof id;
    throw new LmjError('BAD_DEVICE_ID', problem, { details: { deviceId: preview } });
  }
  return id as string;
}
