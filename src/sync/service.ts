/**
 * The gateway's sync service: outbox + uplink behind one small API the daemon wires
 * in — `onStored` from the ingest result hook, `admit` in front of `submit`
 * (back-pressure), `status` for `/sync/status`, `/metrics` and `lmj-edge status`.
 */
import { LmjError } from '../errors.js';
import { loadCaBundle } from '../http/tls-material.js';
import { Outbox } from './outbox.js';
import type { DeviceAccess, SyncLog, SyncOptions, SyncStatus } from './types.js';
import { Uplink, type UplinkSettings } from './uplink.js';

/** A running sync service. */
export interface SyncService {
  /**
   * Ingest hook: call for every `stored` result, with its `readings` (the device's
   * reading count after the commit) when known. Cheap, never throws.
   */
  onStored(deviceId: string, ts: number, readings?: number): void;
  /** Resolves when a new message may be ingested (waits while the budget is exceeded under `backpressure`). */
  admit(): Promise<void>;
  status(): SyncStatus;
  /** Resolves once no drop-oldest round is running (`status().dropping` false). */
  dropIdle(): Promise<void>;
  /** The device's last `readings` element confirmed upstream (or dropped past); undefined when none. */
  syncedThrough(deviceId: string): Buffer | undefined;
  /** Retention removed these elements of the device (see {@link Outbox.onExpired}). */
  onExpired(deviceId: string, removed: readonly Buffer[]): Promise<void>;
  /** Messages waiting at the back-pressure gate now. */
  waiting(): number;
  /** Shutdown step 1: lets every waiting and future message through (call before draining the front ends). */
  releaseGate(): void;
  /** Stops the uplink, releases the gate, persists the outbox state. Idempotent. */
  close(): Promise<void>;
}

const GATEWAY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function bad(key: string, why: string): LmjError {
  return new LmjError('BAD_CONFIG', `invalid sync configuration: ${key}: ${why}`, { details: { key, reason: why } });
}

function positiveInt(key: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n < 1) throw bad(key, `must be a positive integer, got ${String(v)}`);
  return n;
}

/** The `--upstream-ca` bundle, read once (TLS_FILE_* / TLS_BAD_PEM name the file); only for https:// routers. */
function upstreamCaOf(path: string | undefined, urls: string[]): Buffer | undefined {
  if (path === undefined) return undefined;
  if (urls.some((u) => !u.startsWith('https:'))) throw bad('upstreamCa', 'a CA file is for https:// routers only; every --upstream must be https://');
  return loadCaBundle(path, 'sync.upstreamCa');
}

/** Applies defaults and validates; throws BAD_CONFIG naming the setting. */
export function syncSettings(o: SyncOptions): UplinkSettings {
  const upstreams = String(o.upstream).split(',').map((u) => u.trim());
  if (upstreams.length > 16) throw bad('upstream', 'at most 16 routers');
  const urls = upstreams.map((raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw bad('upstream', `not a URL: ${raw.slice(0, 200)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('upstream', 'use http://host:port or https://host:port (comma-separated for several routers)');
    return url.toString().replace(/\/+$/, '');
  });
  if (!GATEWAY_ID.test(o.gatewayId)) throw bad('gatewayId', 'use 1..64 of A-Z a-z 0-9 . _ -');
  if (o.token !== undefined && (o.token.length < 1 || o.token.length > 512 || /[\s\0]/.test(o.token))) {
    throw bad('upstreamToken', 'must be 1..512 characters without whitespace');
  }
  const policy = o.policy ?? 'backpressure';
  if (policy !== 'backpressure' && policy !== 'drop-oldest') throw bad('outboxPolicy', 'backpressure or drop-oldest');
  return {
    upstream: urls.join(','),
    token: o.token,
    gatewayId: o.gatewayId,
    budgetBytes: positiveInt('outboxBudget', o.budgetBytes, 256 * 1024 * 1024),
    policy,
    batchMaxRecords: positiveInt('batchMaxRecords', o.batchMaxRecords, 5000),
    batchMaxBytes: positiveInt('batchMaxBytes', o.batchMaxBytes, 1024 * 1024),
    batchDelayMs: positiveInt('batchDelayMs', o.batchDelayMs, 50),
    concurrency: positiveInt('concurrency', o.concurrency, 2),
    backoffMs: positiveInt('backoffMs', o.backoffMs, 200),
    maxBackoffMs: positiveInt('maxBackoffMs', o.maxBackoffMs, 30_000),
    requestTimeoutMs: positiveInt('requestTimeoutMs', o.requestTimeoutMs, 30_000),
    upstreamCa: upstreamCaOf(o.upstreamCa, urls),
  };
}

/** What {@link startSync} needs from the gateway. */
export interface SyncContext {
  /** The gateway data directory (state goes to `DIR/gateway/sync`). */
  dataDir: string;
  /** fsync the sync state (the gateway's `safe` durability). */
  durable: boolean;
  devices: DeviceAccess;
  log?: SyncLog;
}

/** Validates the options, opens the outbox and starts the uplink. Throws BAD_CONFIG. */
export function startSync(ctx: SyncContext, options: SyncOptions): SyncService {
  const settings = syncSettings(options);
  const log = ctx.log ?? { info: () => undefined, warn: () => undefined };
  const outbox = new Outbox({
    dataDir: ctx.dataDir,
    durable: ctx.durable,
    devices: ctx.devices,
    budgetBytes: settings.budgetBytes,
    policy: settings.policy,
    log,
  });
  const uplink = new Uplink(outbox, settings, log);
  uplink.start();
  let closing: Promise<void> | undefined;
  return {
    onStored: (deviceId, ts, readings) => {
      try {
        outbox.onStored(deviceId, ts, readings);
      } catch (err) {
        // Bookkeeping must never fail an ingest; the next sweep recounts.
        log.warn({ err, deviceId }, 'sync: could not note a stored reading');
      }
    },
    admit: () => outbox.admit(),
    dropIdle: () => outbox.dropIdle(),
    syncedThrough: (deviceId) => outbox.syncedThrough(deviceId),
    onExpired: (deviceId, removed) => outbox.onExpired(deviceId, removed),
    releaseGate: () => outbox.releaseGate(),
    waiting: () => outbox.waiting(),
    status(): SyncStatus {
      const b = outbox.backlog();
      const now = Date.now();
      return {
        upstream: settings.upstream,
        gatewayId: settings.gatewayId,
        policy: settings.policy,
        budgetBytes: settings.budgetBytes,
        backlog: { readings: b.readings, bytes: b.bytes, devices: b.devices },
        oldestUnsyncedTs: b.oldestTs,
        oldestUnsyncedAgeMs: b.oldestTs === null ? null : Math.max(0, now - b.oldestTs),
        lastSuccessAt: uplink.lastSuccessAt,
        lastError: uplink.lastError,
        backpressure: settings.policy === 'backpressure' && outbox.overBudget(),
        dropping: outbox.isDropping(),
        counters: {
          ...uplink.counters,
          readingsDropped: outbox.counters.dropped,
          backpressureWaits: outbox.counters.backpressureWaits,
        },
      };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await uplink.stop();
        await outbox.close();
      })();
      return closing;
    },
  };
}
