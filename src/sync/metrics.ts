/**
 * Sync metrics, registered into the daemon's prom-client registry and read from
 * {@link SyncService.status} at scrape time (no bookkeeping on the ingest path).
 */
import { Gauge, type Registry } from 'prom-client';
import { mirroredCounter } from '../http/metrics.js';
import type { SyncStatus } from './types.js';

/** Registers the `lmj_sync_*` series into `registry`. */
export function registerSyncMetrics(registry: Registry, status: () => SyncStatus): void {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: SyncStatus) => number | null): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = read(status());
        if (v !== null) this.set(v);
      },
    });
  };
  const counter = (name: string, help: string, read: (s: SyncStatus) => number): void =>
    mirroredCounter(registry, name, help, () => read(status()));
  gauge('lmj_sync_backlog_readings', 'Readings committed locally and not yet confirmed by the router', (s) => s.backlog.readings);
  gauge('lmj_sync_backlog_bytes', 'Estimated upload bytes of the unsynced readings', (s) => s.backlog.bytes);
  gauge('lmj_sync_backlog_devices', 'Devices with unsynced readings', (s) => s.backlog.devices);
  gauge('lmj_sync_budget_bytes', 'Outbox budget in bytes', (s) => s.budgetBytes);
  gauge('lmj_sync_oldest_unsynced_age_seconds', 'Age of the oldest unsynced reading (0 when none)', (s) =>
    s.oldestUnsyncedAgeMs === null ? 0 : s.oldestUnsyncedAgeMs / 1000,
  );
  gauge('lmj_sync_last_success_timestamp_seconds', 'When the router last confirmed a batch (Unix s)', (s) =>
    s.lastSuccessAt === null ? null : s.lastSuccessAt / 1000,
  );
  gauge('lmj_sync_last_error_timestamp_seconds', 'When the last upload failed (Unix s)', (s) =>
    s.lastError === null ? null : s.lastError.at / 1000,
  );
  gauge('lmj_sync_backpressure', '1 while ingest waits for outbox space (policy backpressure)', (s) => (s.backpressure ? 1 : 0));
  counter('lmj_sync_batches_sent_total', 'Batches the router answered', (s) => s.counters.batchesSent);
  counter('lmj_sync_batch_failures_total', 'Batches not (fully) confirmed, retried', (s) => s.counters.batchFailures);
  counter('lmj_sync_readings_synced_total', 'Readings confirmed by the router', (s) => s.counters.readingsSynced);
  counter('lmj_sync_readings_duplicate_total', 'Readings the router already had (replays)', (s) => s.counters.readingsDuplicate);
  counter('lmj_sync_readings_dropped_total', 'Readings skipped by the drop-oldest policy', (s) => s.counters.readingsDropped);
  counter('lmj_sync_tls_failures_total', 'Upload requests whose TLS handshake with the router failed (see lastError)', (s) => s.counters.tlsFailures);
  counter('lmj_sync_backpressure_waits_total', 'Messages that waited for outbox space', (s) => s.counters.backpressureWaits);
}
