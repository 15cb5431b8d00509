/** Public types of the gateway's sync layer (outbox + uplink), see docs/sync.md. */
import type { LmjStore } from '../core/types.js';

/** What the outbox does when its budget is reached. */
export type BudgetPolicy = 'backpressure' | 'drop-oldest';

/**
 * Access to device instances (the gateway's pool satisfies it): `withDevice` pins the
 * instance while `fn` runs and throws NOT_FOUND for an unknown device.
 */
export interface DeviceAccess {
  withDevice<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>): Promise<T>;
}

/** Settings of the sync layer (`lmj-edge start --upstream …`). */
export interface SyncOptions {
  /** Router base URL, `http(s)://host:port`. */
  upstream: string;
  /** Bearer token the router knows this gateway by (optional for a loopback dev router). */
  token?: string;
  /** This gateway's id, 1..64 of `[A-Za-z0-9._-]`. */
  gatewayId: string;
  /** Upstream backlog budget in bytes (estimated wire bytes of unsynced readings). Default 256 MiB. */
  budgetBytes?: number;
  /** Default `backpressure`. */
  policy?: BudgetPolicy;
  /** Most records per batch (default 5,000). */
  batchMaxRecords?: number;
  /** Most encoded bytes per batch (default 1 MiB). */
  batchMaxBytes?: number;
  /** Batches in flight at once, over disjoint devices (default 2). */
  concurrency?: number;
  /** How long a partial batch waits for more readings, ms (default 50). */
  batchDelayMs?: number;
  /** First retry delay, ms (default 200); doubles per failure up to `maxBackoffMs`. */
  backoffMs?: number;
  /** Longest retry delay, ms (default 30,000). */
  maxBackoffMs?: number;
  /** Per-request timeout, ms (default 30,000). */
  requestTimeoutMs?: number;
  /** PEM CA file the https:// routers' certificates must chain to (`--upstream-ca`; default: Node's public CAs). */
  upstreamCa?: string;
}

/** An error as shown in status. */
export interface SyncErrorInfo {
  at: number;
  code: string;
  message: string;
}

/** `GET /sync/status`, `lmj-edge status`. */
export interface SyncStatus {
  upstream: string;
  gatewayId: string;
  policy: BudgetPolicy;
  budgetBytes: number;
  backlog: {
    /** Unsynced readings (exact where the device was counted, see docs/sync.md). */
    readings: number;
    /** Estimated wire bytes of those readings. */
    bytes: number;
    /** Devices with unsynced readings. */
    devices: number;
  };
  /** Receive time of the oldest unsynced reading known, or null. */
  oldestUnsyncedTs: number | null;
  oldestUnsyncedAgeMs: number | null;
  lastSuccessAt: number | null;
  lastError: SyncErrorInfo | null;
  /** True while the budget is exceeded and ingest waits (policy backpressure). */
  backpressure: boolean;
  /** True while a drop-oldest round is advancing cursors (policy drop-oldest). */
  dropping: boolean;
  counters: SyncCounters;
}

/** Monotonic counters since start. */
export interface SyncCounters {
  batchesSent: number;
  batchFailures: number;
  readingsSynced: number;
  /** Readings the router already had (replays after a lost answer). */
  readingsDuplicate: number;
  /** Readings skipped by the drop-oldest policy (never sent). */
  readingsDropped: number;
  /** Messages that had to wait for outbox space (policy backpressure). */
  backpressureWaits: number;
  /** Requests whose TLS handshake with the router failed (certificate not trusted, expired, wrong name). */
  tlsFailures: number;
}

/** Minimal logger (pino-compatible). */
export interface SyncLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
