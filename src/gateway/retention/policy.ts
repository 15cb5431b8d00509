/** Retention policies: the configured default and per-device overrides, resolved per device. */

/** One device's retention policy. `undefined` bounds are off. */
export interface RetentionPolicy {
  /** Readings older than this (by element ts, ms) are removed. */
  maxAgeMs: number | undefined;
  /** Target for the instance's data.mdb; the oldest readings are removed until it fits (after compaction). */
  maxBytes: number | undefined;
  /** Remove readings not yet confirmed upstream too (counted as unsynced dropped). */
  dropUnsynced: boolean;
}

/** A per-device override: only the keys given replace the default's. */
export type PolicyOverride = Partial<RetentionPolicy>;

/** The retention settings of the daemon. */
export interface RetentionSettings {
  defaults: RetentionPolicy;
  devices: ReadonlyMap<string, PolicyOverride>;
  /** Background run period, ms; 0 = only on demand. */
  intervalMs: number;
  /** Most readings removed per write transaction. */
  batchReadings: number;
  /** Share of wall time the delete transactions may fill, percent (1..100; ./pacing.ts). */
  dutyPercent: number;
}

/** The policy in force for `deviceId`. */
export function policyFor(settings: RetentionSettings, deviceId: string): RetentionPolicy {
  const o = settings.devices.get(deviceId);
  if (o === undefined) return settings.defaults;
  return {
    maxAgeMs: 'maxAgeMs' in o ? o.maxAgeMs : settings.defaults.maxAgeMs,
    maxBytes: 'maxBytes' in o ? o.maxBytes : settings.defaults.maxBytes,
    dropUnsynced: o.dropUnsynced ?? settings.defaults.dropUnsynced,
  };
}

/** True when the policy removes anything at all. */
export function isActive(p: RetentionPolicy): boolean {
  return p.maxAgeMs !== undefined || p.maxBytes !== undefined;
}
