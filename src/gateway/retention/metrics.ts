/** `lmj_retention_*` series, read from the runner's counters at scrape time. */
import { Gauge, type Registry } from 'prom-client';
import { mirroredCounter } from '../../http/metrics.js';
import type { RetentionStatus } from './runner.js';

/** Registers the retention series into `registry`. */
export function registerRetentionMetrics(registry: Registry, status: () => RetentionStatus): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: (s: RetentionStatus) => number): void =>
    mirroredCounter(registry, name, help, () => read(status()));
  counter('lmj_retention_readings_expired_total', 'Readings removed by retention', (s) => s.counters.readingsExpired);
  counter('lmj_retention_bytes_reclaimed_total', 'data.mdb bytes given back by compaction', (s) => s.counters.bytesReclaimed);
  counter('lmj_retention_unsynced_dropped_total', 'Readings removed before they were synced upstream (dropUnsynced)', (s) => s.counters.unsyncedDropped);
  counter('lmj_retention_compactions_total', 'Instances compacted', (s) => s.counters.compactions);
  counter('lmj_retention_failures_total', 'Device runs that failed', (s) => s.counters.failures);
  new Gauge({
    name: 'lmj_retention_last_run_timestamp_seconds',
    help: 'When the last retention run started (Unix s)',
    registers,
    collect() {
      const at = status().lastRunAt;
      if (at !== null) this.set(at / 1000);
    },
  });
}
