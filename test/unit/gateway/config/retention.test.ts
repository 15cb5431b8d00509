/** Retention settings: defaults, file < env < flags, per-device overrides, validation. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, retentionSettingsOf } from '../../../../src/gateway/config/index.js';
import { policyFor } from '../../../../src/gateway/retention/policy.js';
import { isLmjError } from '../../../../src/errors.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

function file(obj: unknown): string {
  const p = join(tmpDir(), 'cfg.json');
  writeFileSync(p, JSON.stringify(obj));
  return p;
}

function badKey(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isLmjError(err, 'BAD_CONFIG')) throw err;
    return String(err.details?.key);
  }
  throw new Error('expected BAD_CONFIG');
}

describe('retention config', () => {
  it('removes nothing by default', () => {
    const s = retentionSettingsOf(loadConfig());
    expect(s.defaults).toEqual({ maxAgeMs: undefined, maxBytes: undefined, dropUnsynced: false });
    expect(s.intervalMs).toBe(3_600_000);
  });

  it('layers file < env < flags and applies per-device overrides over the default', () => {
    const f = file({ retention: { maxAgeSeconds: 100, maxBytes: 5000, devices: { 'pump-1': { maxAgeSeconds: 0, dropUnsynced: true }, 'tank.2': { maxBytes: 9000 } } } });
    const cfg = loadConfig({ file: f, env: { LMJ_EDGE_RETENTION_MAX_AGE_SECONDS: '200', LMJ_EDGE_RETENTION_DROP_UNSYNCED: 'false' }, flags: { retentionMaxAge: '300' } });
    const s = retentionSettingsOf(cfg);
    expect(s.defaults).toEqual({ maxAgeMs: 300_000, maxBytes: 5000, dropUnsynced: false });
    expect(policyFor(s, 'pump-1')).toEqual({ maxAgeMs: undefined, maxBytes: 5000, dropUnsynced: true });
    expect(policyFor(s, 'tank.2')).toEqual({ maxAgeMs: 300_000, maxBytes: 9000, dropUnsynced: false });
    expect(policyFor(s, 'other')).toEqual(s.defaults);
  });

  it('names the key of a bad value', () => {
    expect(badKey(() => loadConfig({ env: { LMJ_EDGE_RETENTION_MAX_BYTES: '-1' } }))).toBe('retention.maxBytes');
    expect(badKey(() => loadConfig({ env: { LMJ_EDGE_RETENTION_DROP_UNSYNCED: 'yes' } }))).toBe('retention.dropUnsynced');
    expect(badKey(() => loadConfig({ file: file({ retention: { devices: { '../x': { maxBytes: 1 } } } }) }))).toBe('retention.devices.../x');
    expect(badKey(() => loadConfig({ file: file({ retention: { devices: { d: { maxAge: 1 } } } }) }))).toBe('retention.devices.d.maxAge');
    expect(badKey(() => loadConfig({ file: file({ retention: { devices: { d: { maxBytes: 1.5 } } } }) }))).toBe('retention.devices.d.maxBytes');
    expect(badKey(() => loadConfig({ file: file({ retention: { maxAge: 1 } }) }))).toBe('retention.maxAge');
  });
});
