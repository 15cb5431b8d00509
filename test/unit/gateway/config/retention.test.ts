/** Retention settings: defaults, file < env < flags, per-device overrides, validation. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, retentionSettingsOf } from '../../../../src/gateway/config/index.js';
import { DEFAULT_DUTY_PERCENT, pauseAfter } from '../../../../src/gateway/retention/pacing.js';
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
    expect(s.dutyPercent).toBe(DEFAULT_DUTY_PERCENT);
  });

  it('takes the duty cycle from the environment and refuses one outside 1..100', () => {
    expect(retentionSettingsOf(loadConfig({ env: { LMJ_EDGE_RETENTION_DUTY_PERCENT: '100' } })).dutyPercent).toBe(100);
    expect(retentionSettingsOf(loadConfig({ file: file({ retention: { dutyPercent: 5 } }) })).dutyPercent).toBe(5);
    expect(badKey(() => loadConfig({ env: { LMJ_EDGE_RETENTION_DUTY_PERCENT: '0' } }))).toBe('retention.dutyPercent');
    expect(badKey(() => loadConfig({ env: { LMJ_EDGE_RETENTION_DUTY_PERCENT: '101' } }))).toBe('retention.dutyPercent');
  });

  it('pauses after a delete transaction so it fills at most the duty share of the wall time', () => {
    expect(pauseAfter(10, 20)).toBe(40);
    expect(pauseAfter(10, 50)).toBe(10);
    expect(pauseAfter(10, 100)).toBe(0);
    expect(pauseAfter(0, 20)).toBe(0);
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
