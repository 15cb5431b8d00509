/**
 * The disk guard on a read-only file system (EROFS: what the kernel remounts a failing
 * SD card to): a write refused with EROFS pauses ingest with its own reason — shown by
 * `pausedReason` (what /healthz and the DISK_FULL refusal report) and the
 * `lmj_ingest_paused` gauge — and free space does not end the pause: only a probe write
 * in the data directory that succeeds does. The probe is made to fail for real by a
 * directory in the probe file's place (a read-only remount needs privileges a test does
 * not have); the EROFS errors have the shapes Node's fs and lmdb (strerror) give them.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LmjError } from '../../../src/errors.js';
import { DiskGuard, isDiskError, isReadOnlyError, PROBE_FILE } from '../../../src/gateway/disk-guard.js';
import { registerDiskMetrics } from '../../../src/gateway/disk-metrics.js';
import { createLogger } from '../../../src/http/logger.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** Node's fs error for a write on a read-only mount. */
const fsErofs = (): Error => Object.assign(new Error("EROFS: read-only file system, open '/data/x'"), { code: 'EROFS', errno: -30, syscall: 'open' });
/** A store write failing in lmdb (its message is strerror(30)), wrapped as the store wraps it. */
const lmdbErofs = (): Error => new LmjError('STORE_IO', 'commit failed', { cause: Object.assign(new Error('Read-only file system'), { code: 30 }) });

async function pausedGauge(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('lmj_ingest_paused')?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

describe('disk guard on a read-only file system', () => {
  it('classifies EROFS (and EDQUOT) as disk errors, EROFS as read-only', () => {
    for (const e of [fsErofs(), lmdbErofs()]) {
      expect(isDiskError(e)).toBe(true);
      expect(isReadOnlyError(e)).toBe(true);
    }
    const quota = Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT', errno: -122 });
    expect(isDiskError(quota)).toBe(true);
    expect(isReadOnlyError(quota)).toBe(false);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    expect(isReadOnlyError(enospc)).toBe(false);
    expect(isDiskError(new Error('EACCES: permission denied'))).toBe(false);
  });

  it('pauses on EROFS with its reason and resumes only once a probe write succeeds, not by free space', async () => {
    const dir = tmpDir();
    const guard = new DiskGuard({ dir, minFreeBytes: 1, checkIntervalMs: 0, log: createLogger('silent') });
    const registry = new Registry();
    registerDiskMetrics(registry, guard);
    expect(guard.pausedReason()).toBeUndefined();

    // The probe cannot be written (a directory in its place): the file system still "refuses writes".
    mkdirSync(join(dir, PROBE_FILE));
    guard.noteError(lmdbErofs());
    expect(guard.pausedReason()).toBe('read-only file system');
    expect(guard.pauses).toBe(1);
    // Plenty of space is free, and every re-check (interval 0) still keeps the pause.
    expect(guard.freeBytes).toBeGreaterThan(1 << 20);
    for (let i = 0; i < 3; i++) expect(guard.pausedReason()).toBe('read-only file system');
    expect(await pausedGauge(registry)).toMatchObject({ 'read-only file system': 1, 'disk full': 0, 'disk i/o error': 0 });

    // Writable again: the next check's probe succeeds and ingest resumes by itself.
    rmdirSync(join(dir, PROBE_FILE));
    expect(guard.pausedReason()).toBeUndefined();
    expect(await pausedGauge(registry)).toMatchObject({ 'read-only file system': 0 });

    // A second EROFS (Node's fs shape) pauses again; the probe now passes at the next check.
    guard.noteError(fsErofs());
    expect(guard.pauses).toBe(2);
    expect(guard.pausedReason()).toBeUndefined();
  });
});
