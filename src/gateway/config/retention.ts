/**
 * The retention part of the configuration: per-device overrides from the config file
 * (`retention.devices`), and turning the settings into the runner's policy settings.
 */
import { assertDeviceId } from '../../devices/device-id.js';
import type { PolicyOverride, RetentionSettings } from '../retention/policy.js';
import type { GatewayConfig, RetentionOverride } from './schema.js';

/** The file key of the per-device overrides (an object keyed by device id). */
export const RETENTION_DEVICES_KEY = 'retention.devices';

const OVERRIDE_KEYS = new Set(['maxAgeSeconds', 'maxBytes', 'dropUnsynced']);

/** Validates `retention.devices` from the file; `bad(key, why)` builds the BAD_CONFIG error. */
export function parseRetentionDevices(raw: unknown, bad: (key: string, why: string) => Error): Record<string, RetentionOverride> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(RETENTION_DEVICES_KEY, 'expected an object keyed by device id');
  const out: Record<string, RetentionOverride> = {};
  for (const [id, o] of Object.entries(raw as Record<string, unknown>)) {
    const key = `${RETENTION_DEVICES_KEY}.${id}`;
    try {
      assertDeviceId(id);
    } catch {
      throw bad(key, 'not a valid device id');
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw bad(key, 'expected an object');
    const entry: RetentionOverride = {};
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (!OVERRIDE_KEYS.has(k)) throw bad(`${key}.${k}`, 'unknown setting (maxAgeSeconds, maxBytes, dropUnsynced)');
      if (k === 'dropUnsynced') {
        if (typeof v !== 'boolean') throw bad(`${key}.${k}`, 'expected true or false');
        entry.dropUnsynced = v;
      } else {
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${key}.${k}`, 'expected an integer >= 0 (0 = no bound)');
        entry[k as 'maxAgeSeconds' | 'maxBytes'] = v;
      }
    }
    out[id] = entry;
  }
  return out;
}

/** 0 means "no bound". */
const bound = (n: number, scale = 1): number | undefined => (n > 0 ? n * scale : undefined);

/** The runner's settings from a configuration. */
export function retentionSettingsOf(cfg: GatewayConfig): RetentionSettings {
  const r = cfg.retention;
  const devices = new Map<string, PolicyOverride>();
  for (const [id, o] of Object.entries(r.devices)) {
    const p: PolicyOverride = {};
    if (o.maxAgeSeconds !== undefined) p.maxAgeMs = bound(o.maxAgeSeconds, 1000);
    if (o.maxBytes !== undefined) p.maxBytes = bound(o.maxBytes);
    if (o.dropUnsynced !== undefined) p.dropUnsynced = o.dropUnsynced;
    devices.set(id, p);
  }
  return {
    defaults: { maxAgeMs: bound(r.maxAgeSeconds, 1000), maxBytes: bound(r.maxBytes), dropUnsynced: r.dropUnsynced },
    devices,
    intervalMs: r.intervalSeconds * 1000,
    batchReadings: r.batchReadings,
    dutyPercent: r.dutyPercent,
  };
}
