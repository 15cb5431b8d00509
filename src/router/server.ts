/**
 * The cloud router (`lmj-edge router`): the sync endpoint gateways upload to, the data
 * nodes it routes devices to, and the gateway's query API over every device.
 *
 * POST /sync/v1/batch             CBOR batch (src/sync/batch.ts) → {"seq","devices":[{id,cursor,applied,duplicates}|{id,error}]}
 *                                 401 UNAUTHORIZED, 400 BAD_BATCH / WRONG_PARTITION / MEMBER_TOO_LONG,
 *                                 413 BATCH_TOO_LARGE, 415 (not application/cbor) — nothing written
 * GET  /devices, /devices/:id, /devices/:id/latest, /devices/:id/readings, /devices/:id/entities/:ptr
 *                                 the shared read routes and handlers (src/http/server.ts)
 * GET  /deadletters               always empty: bad batches are refused whole, never dead-lettered
 * GET  /devices/:id/location      {"id","partition","node","gateway","lastBatchAt"}
 * GET  /routing                   the routing table
 * GET  /, /fleet                  the fleet page and its figures (./dashboard/, docs/dashboard.md)
 * POST /query                     SQL across every data node (./query-fanout.ts, docs/query.md)
 * GET  /healthz, /metrics
 *
 * Every route but the upload (gateway tokens) and /healthz takes the API tokens of
 * `apiTokensFile` (src/http/api-auth.ts), required when the router listens beyond loopback.
 */
import { join } from 'node:path';
import { getCodec } from '../codec/index.js';
import type { Durability } from '../core/types.js';
import { isValidDeviceId } from '../devices/device-id.js';
import { LmjError } from '../errors.js';
import { createLogger, type Logger } from '../http/logger.js';
import { deviceParams, listQuery } from '../http/schemas.js';
import { buildHttpApi } from '../http/server.js';
import type { HttpsOptions } from '../http/tls-listener.js';
import { decodeBatch } from '../sync/batch.js';
import { SYNC_PATH } from '../sync/uplink.js';
import { applyBatch } from './apply-batch.js';
import { GatewayTally, registerFleetPage, type FleetNode } from './dashboard/index.js';
import { DataNodes } from './data-nodes.js';
import { DeviceDirectory } from './directory.js';
import { RouterMetrics } from './metrics.js';
import { routerQuerySource } from './query-source.js';
import { localQueryNodes, scatterGather } from './query-fanout.js';
import { DEFAULT_LIMITS, QueryMetrics, registerQueryRoute, type QueryLimits } from '../query/index.js';
import { LocalRoutingTable, type RoutingTable } from './routing-table.js';
import { syncErrorHandler } from './sync-errors.js';
import { loadRouterCredentials, syncRequestCheck } from './credentials.js';

/** Options of {@link startRouter}. */
export interface RouterOptions {
  dataDir: string;
  httpHost?: string;
  /** 0 = any free port. */
  httpPort: number;
  /** JSON tokens file; required unless the router listens on loopback only. */
  tokensFile?: string;
  /** API tokens of the query API (`lmj-edge token create`); required unless the router listens on loopback only. */
  apiTokensFile?: string;
  /** With `apiTokensFile` on a loopback listener: answer queries without a token anyway. */
  apiLoopbackOpen?: boolean;
  /** Failed authentications per remote address and minute before 429s (default 10). */
  authFailuresPerMinute?: number;
  /** Number of data nodes when the routing table is created (an existing table wins). */
  nodes?: number;
  durability?: Durability;
  /** Largest accepted batch body, bytes (default 16 MiB). */
  maxBatchBytes?: number;
  /** Bounds of `POST /query` (default: the library's); a request may only lower them. */
  queryLimits?: Partial<QueryLimits>;
  /** Serve HTTPS (`--tls-cert`, `--tls-key`, `--tls-ca`). */
  https?: HttpsOptions | undefined;
  log?: Logger;
}

/** A running router. */
export interface Router {
  readonly http: { host: string; port: number };
  readonly table: RoutingTable;
  readonly nodes: DataNodes;
  stop(): Promise<void>;
}

/** Starts the router; throws BAD_CONFIG for a bad table, tokens file or an unauthenticated non-loopback bind. */
export async function startRouter(opts: RouterOptions): Promise<Router> {
  const host = opts.httpHost ?? '127.0.0.1';
  const log = opts.log ?? createLogger('info');
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  const { tokens, apiTokens } = loadRouterCredentials(host, opts, log);
  const codec = getCodec();
  const table = LocalRoutingTable.openOrCreate(join(opts.dataDir, 'router', 'routing.json'), opts.nodes);
  const nodes = new DataNodes({ dataDir: opts.dataDir, table, codec, durability: opts.durability ?? 'safe' });
  const directory = new DeviceDirectory(opts.dataDir);
  const reconciled = directory.reconcile(nodes).catch(() => undefined);
  const metrics = new RouterMetrics(codec.kind);
  const { batches, records } = metrics;
  let shuttingDown = false;
  const source = routerQuerySource(nodes, directory);
  const app = buildHttpApi({
    https: opts.https,
    source,
    metrics,
    log,
    isShuttingDown: () => shuttingDown,
    health: () => ({ role: 'router', nodes: table.nodes().length }),
    auth: { listenHost: host, tokens: apiTokens, loopbackOpen: opts.apiLoopbackOpen ?? false, rateLimit: { maxFailures: opts.authFailuresPerMinute ?? 10 }, exempt: [SYNC_PATH] },
  });

  app.addContentTypeParser('application/cbor', { parseAs: 'buffer', bodyLimit: maxBatchBytes }, (_req, body, done) => done(null, body));

  const gateways = new GatewayTally();
  registerFleetPage(app, { kind: 'router', sql: true, gateways, nodes: async () => localFleetNodes(table), devices: () => directory.registry.count() });

  const refuse = syncErrorHandler(log, batches, maxBatchBytes);

  app.post(SYNC_PATH, {
    bodyLimit: maxBatchBytes,
    errorHandler: refuse,
    onRequest: syncRequestCheck(tokens, maxBatchBytes, () => shuttingDown),
  }, async (req) => {
    const gateway = String(req.headers['x-lmj-gateway']);
    if (!Buffer.isBuffer(req.body)) throw new LmjError('BAD_BATCH', 'empty body');
    const batch = decodeBatch(req.body, { isValidDeviceId, gatewayId: gateway, codec });
    const { answer, counts } = await applyBatch(nodes, directory, gateway, batch);
    batches.inc({ result: counts.failedDevices > 0 ? 'partial' : 'ok' });
    records.inc({ outcome: 'applied' }, counts.applied);
    records.inc({ outcome: 'duplicate' }, counts.duplicates);
    gateways.upload(gateway, batch.devices.length, counts.applied);
    return answer;
  });

  app.get<{ Params: { id: string } }>('/devices/:id/location', { schema: { params: deviceParams } }, async (req) => source.location(req.params.id));
  app.get('/routing', async () => table.snapshot());
  const queryNodes = localQueryNodes(nodes, source);
  registerQueryRoute(app, {
    execute: (sql, o) => scatterGather(queryNodes, nodes, source, sql, o),
    limits: { ...DEFAULT_LIMITS, ...opts.queryLimits },
    metrics: new QueryMetrics(metrics.registry),
    log,
  });
  // The router stores no raw messages: bad batches are refused whole, never dead-lettered.
  app.get('/deadletters', { schema: { querystring: listQuery } }, async () => ({ deadLetters: [], next: null, total: 0, dropped: 0 }));

  try {
    await app.listen({ host, port: opts.httpPort });
  } catch (err) {
    await app.close();
    await reconciled;
    await directory.close();
    await nodes.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.httpPort;
  let stopping: Promise<void> | undefined;
  return {
    http: { host, port },
    table,
    nodes,
    stop(): Promise<void> {
      stopping ??= (async () => {
        shuttingDown = true;
        await app.close();
        await reconciled;
        await directory.close();
        await nodes.close();
      })();
      return stopping;
    },
  };
}

/** The in-process data nodes: always alive; their share of the table. */
function localFleetNodes(table: RoutingTable): FleetNode[] {
  const t = table.snapshot();
  return t.nodes.map((n) => {
    const owned = t.ranges.filter((r) => r.node === n.id);
    return {
      id: n.id,
      alive: true,
      address: null,
      ranges: owned.length,
      partitions: owned.reduce((sum, r) => sum + r.to - r.from + 1, 0),
      devices: null,
      bytes: null,
      writesPerSec: null,
      readsPerSec: null,
      updatedAt: null,
    };
  });
}
