/**
 * The gateway daemon: wires config, logs, metrics, the ingest pipeline, one MQTT
 * front end (embedded broker or external subscriber) and the HTTP API, and shuts
 * them down in the order that keeps every ack honest.
 *
 * Shutdown (SIGTERM/SIGINT, see cli/commands/start.ts): /healthz turns 503; the MQTT
 * front end stops accepting, waits for in-flight messages to commit and their
 * PUBACKs to be written; the ingest pipeline commits what it holds and closes every
 * instance; the HTTP server closes last.
 */
import { codecInfo, getCodec } from '../codec/index.js';
import { tuneMalloc } from '../codec/malloc.js';
import { deriveMaxOpen, fdsPerInstance, memoryMaxOpen, softFdLimit } from '../devices/pool/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { startExternalSubscriber, type ExternalSubscriber } from './broker/external.js';
import { UserTable } from './broker/users.js';
import { TlsMetrics, type ClientCertMode } from '../http/tls-listener.js';
import { loadTlsMaterial, type TlsMaterial } from '../http/tls-material.js';
import type { GatewayConfig } from './config/index.js';
import { buildGatewayHttpApi } from './http/api.js';
import { listenPlainLoopback, type PlainLoopback } from './http/plain-loopback.js';
import { dashboardDeps, registerDashboard } from './dashboard/index.js';
import { createIngestor } from './ingest/index.js';
import type { Ingestor } from './ingest/types.js';
import { createLogger, RejectionLogger, type Logger } from '../http/logger.js';
import { ApiTokens } from '../http/api-tokens.js';
import { GatewayMetrics } from './metrics.js';
import { QueryMetrics } from '../query/http-metrics.js';
import { registerQueryRoute } from '../query/http-route.js';
import { daemonQuerySource } from './http/query-source.js';
import { startDiskGuard } from './disk-guard-wiring.js';
import { retentionSettingsOf } from './config/retention.js';
import { startRetention } from './retention/service.js';
import { registerSyncMetrics, registerSyncRoutes, startSync, type SyncOptions, type SyncService } from '../sync/index.js';

/** A running daemon. */
export interface Daemon {
  readonly config: GatewayConfig;
  /** Embedded mode: where the broker listens (`tls`: the MQTT-over-TLS listener, when a certificate is set). */
  readonly mqtt: { host: string; port: number; tls?: { host: string; port: number; clientCerts: ClientCertMode } } | undefined;
  /** External mode: the broker URL subscribed to. */
  readonly brokerUrl: string | undefined;
  /** The API listener (`tls`: HTTPS), and the plain loopback twin when configured. */
  readonly http: { host: string; port: number; tls: boolean; plainPort: number | undefined };
  readonly ingestor: Ingestor;
  readonly metrics: GatewayMetrics;
  /** Upstream sync (outbox + uplink) when started with `sync` options. */
  readonly sync: SyncService | undefined;
  /** Resolves when the external subscriber has its subscriptions (immediately in embedded mode). */
  readonly subscribed: Promise<void>;
  /** Drains and stops everything; idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startDaemon}. */
export interface StartOptions {
  /** Logger to use (default: pino on stderr at the configured level). */
  log?: Logger;
  /** Upstream sync to a router (`--upstream …`); off when absent. */
  sync?: SyncOptions;
}

/** The MQTT front end the configuration asks for: an external subscriber or the embedded broker. */
async function startFrontEnd(
  config: GatewayConfig,
  deps: { ingestor: Ingestor; metrics: GatewayMetrics; log: Logger; users: UserTable | undefined; tls: TlsMaterial | undefined },
): Promise<{ embedded?: EmbeddedBroker; external?: ExternalSubscriber }> {
  const { ingestor, metrics, log } = deps;
  if (config.broker.url !== undefined) {
    const external = startExternalSubscriber({
      url: config.broker.url,
      clientId: config.broker.clientId,
      connections: config.broker.connections,
      shareGroup: config.broker.shareGroup,
      username: config.broker.username,
      password: config.broker.password,
      filters: ingestor.topics.filters,
      ingestor,
      metrics,
      log,
      maxInFlight: Math.ceil(config.mqtt.maxInFlight / config.broker.connections),
      maxPacketBytes: config.mqtt.maxPacketBytes,
    });
    return { external };
  }
  const embedded = await startEmbeddedBroker({
    host: config.mqtt.host,
    port: config.mqtt.port,
    ingestor,
    metrics,
    log,
    users: deps.users,
    topics: ingestor.topics,
    maxConnections: config.mqtt.maxConnections,
    maxPacketBytes: config.mqtt.maxPacketBytes,
    maxInFlight: config.mqtt.maxInFlight,
    maxQueuedBeforeConnack: config.mqtt.maxQueuedBeforeConnack,
    tls:
      deps.tls === undefined || config.mqtt.tlsPort === undefined
        ? undefined
        : {
            host: config.mqtt.tlsHost ?? config.mqtt.host,
            port: config.mqtt.tlsPort,
            material: deps.tls,
            clientCerts: config.mqtt.clientCerts,
            handshakeTimeoutMs: config.tls.handshakeTimeoutMs,
            metrics: new TlsMetrics(metrics.registry),
          },
  });
  return { embedded };
}

/** `/healthz`'s reason while devices are quarantined (the others are served): names them. */
function quarantineReason(ingestor: Ingestor): string | undefined {
  const ids = ingestor.pool.quarantined().map((q) => q.deviceId);
  if (ids.length === 0) return undefined;
  const shown = ids.slice(0, 20).join(', ');
  return `device instance quarantined (corrupt): ${shown}${ids.length > 20 ? ` and ${ids.length - 20} more` : ''}`;
}

/** `/healthz`'s `quarantined` field: each quarantined device and why (absent when none). */
function quarantinedList(ingestor: Ingestor): { quarantined?: { deviceId: string; reason: string }[] } {
  const q = ingestor.pool.quarantined();
  return q.length === 0 ? {} : { quarantined: q.slice(0, 100) };
}

/** The configured TLS material, read and checked once (TLS_* errors name the file); warnings logged. */
function tlsMaterialOf(config: GatewayConfig, log: Logger): TlsMaterial | undefined {
  const { cert, key, ca } = config.tls;
  if (cert === undefined || key === undefined) return undefined;
  const material = loadTlsMaterial({ cert, key, ca });
  for (const warning of material.warnings) log.warn({ cert, validTo: material.validTo.toISOString() }, warning);
  return material;
}

/** `maxOpenInstances`, or when 0 the descriptor-derived cap bounded by `memory.instancesMb` (docs/daemon.md, *Memory*). */
function maxOpenInstances(config: GatewayConfig): number {
  if (config.maxOpenInstances > 0) return config.maxOpenInstances;
  const byFds = deriveMaxOpen(softFdLimit(), undefined, fdsPerInstance(config.durability));
  return config.memory.instancesMb > 0 ? Math.min(byFds, memoryMaxOpen(config.memory.instancesMb)) : byFds;
}

/** Starts the daemon per `config`. Throws LmjError (BAD_CONFIG, STORE_OPEN_FAILED, …) on failure. */
export async function startDaemon(config: GatewayConfig, options: StartOptions = {}): Promise<Daemon> {
  const log = options.log ?? createLogger(config.log.level);
  // Before any instance opens: fixed mmap threshold and few arenas (docs/daemon.md, *Memory*).
  if (!tuneMalloc({ mmapThresholdKb: config.memory.mmapThresholdKb, arenas: config.memory.mallocArenas })) {
    log.info({ mmapThresholdKb: config.memory.mmapThresholdKb, arenas: config.memory.mallocArenas }, 'malloc settings not applied (not glibc malloc)');
  }
  const codec = getCodec();
  const info = codecInfo();
  const metrics = new GatewayMetrics(codec.kind);
  const rejections = new RejectionLogger(log, config.log.rejectionsPerMinute);
  const users = config.mqtt.usersFile === undefined ? undefined : UserTable.load(config.mqtt.usersFile);
  const apiTokens = config.http.apiTokensFile === undefined
    ? undefined
    : ApiTokens.load(config.http.apiTokensFile, (err) => log.warn({ err: err.message }, 'API tokens file could not be re-read; keeping the tokens loaded before'));
  const tls = tlsMaterialOf(config, log);
  const startedAt = Date.now();
  let shuttingDown = false;
  let sync: SyncService | undefined;
  // The dashboard needs the HTTP app, which needs the ingestor: bound once both exist.
  let dashboardStored: ((deviceId: string, ts: number) => void) | undefined;

  const syncOptions = options.sync;
  const disk = startDiskGuard(config, log, metrics);
  const ingestor = await createIngestor({
    refuse: disk.refuse,
    dataDir: config.dataDir,
    durability: config.durability,
    codec,
    topics: config.topics,
    batch: { maxDelayMs: config.commitWindowMs },
    ...(config.ingest.journal ? { journal: { maxBytes: config.ingest.journalMaxBytes, applyInFlight: config.ingest.applyInFlight, applyWorker: config.ingest.applyWorker } } : {}),
    pool: { maxOpen: maxOpenInstances(config) },
    hooks: metrics.ingestHooks({
      result: (r) => {
        if (r.status === 'stored') dashboardStored?.(r.deviceId, r.ts);
      },
      verifying: (ids) => log.warn({ devices: ids.length }, 'the last run stopped uncleanly: verifying the device instances it had open before mapping them'),
      verified: (deviceId, status, reason) => (status === 'ok' ? log.info({ deviceId }, 'device instance verified') : log.warn({ deviceId, status, reason }, 'device instance failed verification')),
      quarantined: (deviceId, reason) => log.error({ deviceId, reason }, `device ${deviceId} quarantined: its messages are dead-lettered (DEVICE_UNAVAILABLE) until lmj-edge salvage ${deviceId} --swap`),
      error: (err, ctx) => {
        disk.guard.noteError(err);
        rejections.reject({
          deviceId: ctx.deviceId,
          topic: ctx.topic?.slice(0, 200),
          clientId: ctx.clientId,
          reason: err.code,
          message: err.message,
        });
      },
    }),
    // The outbox gates admission (back-pressure policy) and hears every stored reading.
    ...(syncOptions === undefined
      ? {}
      : {
          sync: (devices) =>
            (sync = startSync({ dataDir: config.dataDir, durable: config.durability === 'safe', devices, log: log.child({ component: 'sync' }) }, syncOptions)),
        }),
  });
  metrics.setStatsSource(() => ingestor.stats());
  const opened = ingestor.stats();
  if (opened.journal !== undefined) {
    const { replayed, tornTails, corruptSegments, bytes } = opened.journal;
    // Nothing new was taken yet: every reading stored so far was acked before and only journaled.
    log.info({ replayed, replayStored: opened.stored, tornTails, corruptSegments, bytes }, 'journal opened and replayed');
  }
  if (sync !== undefined) {
    const s = sync;
    registerSyncMetrics(metrics.registry, () => s.status());
  }
  let embedded: EmbeddedBroker | undefined;
  let external: ExternalSubscriber | undefined;
  let plain: PlainLoopback | undefined;
  const http = buildGatewayHttpApi({
    ...(tls === undefined ? {} : { https: { material: tls, clientCerts: 'off' as const, handshakeTimeoutMs: config.tls.handshakeTimeoutMs, listener: 'http' } }),
    source: ingestor,
    metrics,
    log,
    isShuttingDown: () => shuttingDown,
    degradedReason: () => disk.guard.pausedReason() ?? quarantineReason(ingestor),
    auth: {
      listenHost: config.http.host,
      tokens: apiTokens,
      loopbackOpen: config.http.apiLoopbackOpen,
      rateLimit: { maxFailures: config.http.authFailuresPerMinute, windowMs: 60_000 },
    },
    health: () => ({
      mode: external === undefined ? 'embedded' : 'external',
      codec: info.kind,
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
      inFlight: embedded?.inFlight() ?? external?.inFlight() ?? 0,
      ...quarantinedList(ingestor),
    }),
  });
  if (sync !== undefined) registerSyncRoutes(http, sync);
  const querySource = daemonQuerySource(ingestor, config.dataDir, config.durability);
  registerQueryRoute(http, {
    // The SQL layer (node-sql-parser) is loaded on the first query, not at every start.
    execute: async (sql, opts) => (await import('../query/run.js')).runQuery(querySource, sql, opts),
    limits: config.query,
    metrics: new QueryMetrics(metrics.registry),
    log,
  });
  const dashboard = registerDashboard(http, dashboardDeps({ ingestor, registry: metrics.registry, dataDir: config.dataDir, syncStatus: () => sync?.status() }), { registry: metrics.registry });
  dashboardStored = (deviceId, ts) => dashboard.readingStored(deviceId, ts);
  const retention = startRetention({ dataDir: config.dataDir, pool: ingestor.pool, settings: retentionSettingsOf(config), sync, registry: metrics.registry, http });

  try {
    const front = await startFrontEnd(config, { ingestor, metrics, log, users, tls });
    embedded = front.embedded;
    external = front.external;
    await http.listen({ host: config.http.host, port: config.http.port });
    if (config.http.plainPort !== undefined) plain = await listenPlainLoopback(http, config.http.plainPort);
  } catch (err) {
    await external?.close();
    await embedded?.close();
    await http.close();
    await sync?.close();
    await ingestor.close();
    await querySource.close();
    metrics.close();
    throw err;
  }
  const addr = http.server.address();
  const httpPort = typeof addr === 'object' && addr !== null ? addr.port : config.http.port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true;
      log.info('shutting down: draining in-flight messages');
      sync?.releaseGate();
      await retention.stop();
      await embedded?.close();
      await external?.close();
      await sync?.close();
      await ingestor.close();
      await plain?.close();
      await http.close();
      await querySource.close();
      disk.dispose();
      metrics.close();
      log.info('stopped');
    })();
    return stopping;
  };

  return {
    config,
    mqtt:
      embedded === undefined
        ? undefined
        : {
            host: embedded.host,
            port: embedded.port,
            ...(embedded.tlsPort === undefined
              ? {}
              : { tls: { host: config.mqtt.tlsHost ?? config.mqtt.host, port: embedded.tlsPort, clientCerts: config.mqtt.clientCerts } }),
          },
    brokerUrl: external?.url,
    http: { host: config.http.host, port: httpPort, tls: tls !== undefined, plainPort: plain?.port },
    ingestor,
    metrics,
    sync,
    subscribed: external?.ready ?? Promise.resolve(),
    stop,
  };
}
