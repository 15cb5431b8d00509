/**
 * What the dashboard reads, as small interfaces of its own: the daemon adapts its
 * ingest pipeline, metrics and sync service to them (./deps.ts), and tests or other
 * hosts can supply anything that answers the same calls.
 */
import type { JsonValue } from '../../core/telemetry/types.js';
import type { Series, SeriesQuery } from '../../core/telemetry/series.js';

/** Latest values of one device. */
export interface LatestValues {
  id: string;
  ts: number | null;
  values: Record<string, JsonValue>;
}

/** Per-device reads. Both throw LmjError (NOT_FOUND, DEVICE_UNAVAILABLE, BAD_REQUEST). */
export interface DeviceReads {
  latest(deviceId: string): Promise<LatestValues>;
  /** Bucketed min/avg/max/count over the readings in `[from, to)`, in constant memory. */
  series(deviceId: string, query: SeriesQuery): Promise<Series>;
}

/** Monotonic counters and gauges of the ingest path at one instant. */
export interface IngestCounters {
  /** Publications received on ingest topics. */
  received: number;
  /** PUBACKs sent after durable commit or dead-lettering. */
  acked: number;
  stored: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  /** Gauge: accepted, not yet committed. */
  pending: number;
  /** Gauge: device instances open. */
  openInstances: number;
}

/** A dead letter as the dashboard shows it (no payload bytes). */
export interface DeadLetterSummary {
  seq: number;
  at: number;
  topic: string;
  code: string;
  message: string;
  deviceId: string | null;
  size: number;
}

/** Upstream sync state, the part the dashboard shows. */
export interface SyncSummary {
  upstream: string;
  backlogReadings: number;
  backlogBytes: number;
  backlogDevices: number;
  oldestUnsyncedAgeMs: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  backpressure: boolean;
}

/** Everything {@link registerDashboard} needs from its host. */
export interface DashboardDeps {
  devices: DeviceReads;
  counters(): Promise<IngestCounters>;
  /** The newest dead letters (at most `limit`), with the totals kept and dropped. */
  deadLetters(limit: number): Promise<{ recent: DeadLetterSummary[]; total: number; dropped: number }>;
  /** Null when sync is off. */
  sync(): SyncSummary | null;
  /** The data directory, for disk use (statfs) and the size of what is kept. */
  dataDir: string;
}
