/**
 * Adapts the daemon's parts (ingest pipeline, metrics registry, sync service) to the
 * dashboard's own interfaces, so the dashboard depends on five calls, not on them.
 */
import type { Registry } from 'prom-client';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SeriesScan, type Series, type SeriesQuery } from '../../core/telemetry/series.js';
import type { Ingestor } from '../ingest/types.js';
import type { SyncStatus } from '../../sync/types.js';
import type { DashboardDeps, IngestCounters } from './types.js';

/** Sum of a counter's samples, optionally split by one label. */
async function counterValues(registry: Registry, name: string, label?: string): Promise<{ total: number; byLabel: Record<string, number> }> {
  const metric = registry.getSingleMetric(name);
  const byLabel: Record<string, number> = {};
  let total = 0;
  if (metric === undefined) return { total, byLabel };
  const { values } = await metric.get();
  for (const v of values) {
    total += v.value;
    if (label !== undefined) {
      const key = String(v.labels[label] ?? '');
      byLabel[key] = (byLabel[key] ?? 0) + v.value;
    }
  }
  return { total, byLabel };
}

/** Readings walked per read transaction: ~tens of ms, so ingest and other requests get turns. */
const SCAN_STEP = 8192;

/** Walks the range in steps of {@link SCAN_STEP} readings, yielding the event loop between steps. */
async function scanInSteps(ingestor: Pick<Ingestor, 'withDevice'>, deviceId: string, query: SeriesQuery): Promise<Series> {
  const scan = new SeriesScan(query);
  while (!(await ingestor.withDevice(deviceId, (store) => store.read((txn) => scan.step(txn, SCAN_STEP))))) await nextTurn();
  return scan.result();
}

/** The parts of the daemon the dashboard reads. */
export interface DaemonParts {
  ingestor: Pick<Ingestor, 'latest' | 'withDevice' | 'deadLetters' | 'stats'>;
  registry: Registry;
  dataDir: string;
  syncStatus: () => SyncStatus | undefined;
}

/** Builds {@link DashboardDeps} from the running daemon's parts. */
export function dashboardDeps(parts: DaemonParts): DashboardDeps {
  const { ingestor, registry } = parts;
  return {
    dataDir: parts.dataDir,
    devices: {
      latest: (id) => ingestor.latest(id),
      series: (id, query) => scanInSteps(ingestor, id, query),
    },
    async counters(): Promise<IngestCounters> {
      const stats = ingestor.stats();
      const [received, acked, rejected] = await Promise.all([
        counterValues(registry, 'lmj_messages_in_total'),
        counterValues(registry, 'lmj_messages_acked_total'),
        // Includes rejections decided at the front end (bad topic), unlike stats().
        counterValues(registry, 'lmj_messages_rejected_total', 'reason'),
      ]);
      return {
        received: received.total,
        acked: acked.total,
        stored: stats.stored,
        rejected: rejected.total,
        rejectedByReason: rejected.byLabel,
        pending: stats.pending,
        openInstances: stats.pool.open,
      };
    },
    async deadLetters(limit) {
      const page = await ingestor.deadLetters({ limit });
      return {
        recent: page.deadLetters.map((d) => ({
          seq: d.seq,
          at: d.at,
          topic: d.topic,
          code: d.code,
          message: d.message,
          deviceId: d.deviceId ?? null,
          size: d.payload.length,
        })),
        total: page.total,
        dropped: page.dropped,
      };
    },
    sync() {
      const s = parts.syncStatus();
      if (s === undefined) return null;
      return {
        upstream: s.upstream,
        backlogReadings: s.backlog.readings,
        backlogBytes: s.backlog.bytes,
        backlogDevices: s.backlog.devices,
        oldestUnsyncedAgeMs: s.oldestUnsyncedAgeMs,
        lastSuccessAt: s.lastSuccessAt,
        lastError: s.lastError === null ? null : `${s.lastError.code}: ${s.lastError.message}`,
        backpressure: s.backpressure,
      };
    },
  };
}
