/**
 * Disk metrics of the gateway's data directory, read from the {@link DiskGuard} at
 * scrape time: free and total bytes (last statfs), whether ingest is paused and why,
 * and how often it was paused.
 */
import { Gauge, type Registry } from 'prom-client';
import { mirroredCounter } from '../http/metrics.js';
import type { DiskGuard, DiskPauseReason } from './disk-guard.js';

const REASONS: readonly DiskPauseReason[] = ['disk full', 'low disk', 'disk i/o error', 'read-only file system'];

/** Registers `lmj_disk_*` and `lmj_ingest_paused{reason}` into `registry`. */
export function registerDiskMetrics(registry: Registry, guard: DiskGuard): void {
  const registers = [registry];
  new Gauge({
    name: 'lmj_disk_free_bytes',
    help: 'Bytes free to the daemon in the data directory file system (statfs, at most one interval old)',
    registers,
    collect() {
      this.set(guard.freeBytes);
    },
  });
  new Gauge({
    name: 'lmj_disk_total_bytes',
    help: 'Size of the data directory file system in bytes (statfs)',
    registers,
    collect() {
      this.set(guard.totalBytes);
    },
  });
  new Gauge({
    name: 'lmj_ingest_paused',
    help: 'Ingest refuses new messages (DISK_FULL, not acked) for this reason: 1, else 0',
    labelNames: ['reason'],
    registers,
    collect() {
      const now = guard.pausedReason();
      for (const r of REASONS) this.set({ reason: r }, now === r ? 1 : 0);
    },
  });
  mirroredCounter(registry, 'lmj_ingest_pauses_total', 'Times ingest was paused for disk space or a disk I/O error', () => guard.pauses);
}
