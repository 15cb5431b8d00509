/**
 * A cluster router (`lmj-edge router --etcd URLS`, docs/cluster.md): stateless, any
 * number of them. Routes with a watched view of the etcd table (and keeps routing from
 * the cached table while etcd is unreachable); splits each uplink batch per owner and
 * answers the gateway once every part is committed or has failed; forwards device
 * queries to their owners and gathers `/devices` from every node.
 *
 * POST /sync/v1/batch        as the single-process router (docs/sync.md); a device whose
 *                            part failed answers {id, error}; when none committed: 503 + Retry-After
 * GET  /devices              scatter-gather: {devices, next[, partial, failed]}
 * GET  /devices/:id…         forwarded to the owner (summary, latest, readings, entities)
 * GET  /routing              the table (snapshot), GET /healthz, /metrics
 * GET  /, /fleet             the fleet page and its figures (../dashboard/, docs/dashboard.md)
 *
 * As the single-process router, every route but the upload and /healthz takes the API
 * tokens of `apiTokensFile` (src/http/api-auth.ts).
 * Range moves: the router elected move driver runs them (move-driver.ts); the router
 * elected balancer among those with `autoBalance` requests them (balancer.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { TableView, connectEtcd, listLiveNodes, listNodes, scopeTo, type BalancePolicy } from '../../cluster/index.js';
import { getCodec } from '../../codec/index.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { errorBody, makeErrorHandler } from '../../http/errors.js';
import { createLogger, type Logger } from '../../http/logger.js';
import { guardHttpsServer, TlsMetrics, tlsServerOptions, type HttpsOptions, type PeerTls } from '../../http/tls-listener.js';
import type { Server as TlsServer } from 'node:tls';
import { deviceParams, entityParams, listQuery, readingsQuery, type ListQuery } from '../../http/schemas.js';
import { decodeBatch } from '../../sync/batch.js';
import { SYNC_PATH } from '../../sync/uplink.js';
import { GatewayTally, registerFleetPage, type FleetNode } from '../dashboard/index.js';
import { RouterMetrics } from '../metrics.js';
import { syncErrorHandler } from '../sync-errors.js';
import { loadRouterCredentials, syncRequestCheck } from '../credentials.js';
import { installApiAuth } from '../../http/api-auth.js';
import { forwardBatch } from './forward-batch.js';
import { Balancer } from './balancer.js';
import { HttpPools } from './http-pools.js';
import { MoveDriver } from './move-driver.js';
import { MoveHold } from './move-hold.js';
import { listFleet, queryDevice, type QueryContext } from './queries.js';
import { Routes } from './routes.js';
import { Targets, type Target } from './targets.js';

/** Options of {@link startClusterRouter}. */
export interface ClusterRouterOptions {
  etcd: readonly string[];
  /** A router of this group: routes with the group's own table (docs/cluster.md, Router groups). */
  group?: string;
  httpHost?: string;
  httpPort: number;
  tokensFile?: string;
  /** API tokens of the query API; required unless the router listens on loopback only. */
  apiTokensFile?: string;
  /** With `apiTokensFile` on a loopback listener: answer queries without a token anyway. */
  apiLoopbackOpen?: boolean;
  /** Failed authentications per remote address and minute before 429s (default 10). */
  authFailuresPerMinute?: number;
  /** Sent to data nodes as `authorization: Bearer` (LMJ_EDGE_CLUSTER_TOKEN). */
  clusterToken?: string;
  maxBatchBytes?: number;
  /** Per request to a node or group router, ms (default 30 000). */
  peerTimeoutMs?: number;
  /** Range moves this router drives when elected: copy bytes per second (default 20 MB/s; 0 = unthrottled). */
  moveRateBytesPerSec?: number;
  /** TTL of the move driver's election lease, seconds (default 5). */
  moveDriverTtlSeconds?: number;
  /** Moves the elected driver runs at once (default 2), sharing `moveRateBytesPerSec`. */
  moveConcurrency?: number;
  /** When elected: delete the copies ended moves left behind this long after they ended, seconds (default: only `cluster cleanup`). */
  moveCleanupDelaySeconds?: number;
  /** A testing aid (`LMJ_EDGE_TEST_MOVE_HOLD`): the move driver holds at the point this file names (move-hold.ts). */
  moveHoldFile?: string;
  /** `--auto-balance`: campaign for the balancer (its own election, TTL `moveDriverTtlSeconds`) and, elected, balance with this policy and interval (docs/cluster.md, The balancer). */
  autoBalance?: { policy: BalancePolicy; intervalSeconds: number };
  /** Serve HTTPS (`--tls-cert`, `--tls-key`, `--tls-ca`). */
  https?: HttpsOptions | undefined;
  /** Reach data nodes over https:// trusting this CA (`--upstream-ca`), presenting our certificate when we have one. */
  peerTls?: PeerTls | undefined;
  log?: Logger;
}

/** A running cluster router. */
export interface ClusterRouter {
  readonly http: { host: string; port: number };
  readonly view: TableView;
  stop(): Promise<void>;
}

/** Starts a cluster router; throws BAD_CONFIG / CLUSTER_UNAVAILABLE. */
export async function startClusterRouter(opts: ClusterRouterOptions): Promise<ClusterRouter> {
  const host = opts.httpHost ?? '127.0.0.1';
  const log = opts.log ?? createLogger('info');
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  const { tokens, apiTokens } = loadRouterCredentials(host, opts, log);
  const codec = getCodec();
  const root = connectEtcd(opts.etcd);
  const client = scopeTo(root, opts.group);
  const view = await TableView.open(client).catch((err: unknown) => {
    root.close();
    throw err;
  });
  const http = new HttpPools(opts.peerTimeoutMs ?? 30_000, opts.peerTls);
  const routes = new Routes(view, client);
  const targets = new Targets(view);
  const metrics = new RouterMetrics(codec.kind);
  const partitionOf = (id: string): number => codec.partitionOf(id);
  // Nodes get the cluster token; group routers get the gateway's own credentials.
  const headersFor = (req: FastifyRequest) => (t: Target): Record<string, string> => {
    const h: Record<string, string> = {};
    const gw = req.headers['x-lmj-gateway'];
    if (typeof gw === 'string') h['x-lmj-gateway'] = gw;
    if (t.kind === 'node' && opts.clusterToken !== undefined) h.authorization = `Bearer ${opts.clusterToken}`;
    if (t.kind === 'group' && typeof req.headers.authorization === 'string') h.authorization = req.headers.authorization;
    return h;
  };
  let shuttingDown = false;
  const app = baseApp(log, opts.https, metrics);
  installApiAuth(app, { listenHost: host, tokens: apiTokens, loopbackOpen: opts.apiLoopbackOpen ?? false, rateLimit: { maxFailures: opts.authFailuresPerMinute ?? 10 }, registry: metrics.registry, exempt: [SYNC_PATH] });
  app.addContentTypeParser('application/cbor', { parseAs: 'buffer', bodyLimit: maxBatchBytes }, (_req, body, done) => done(null, body));
  const gateways = new GatewayTally();
  registerFleetPage(app, { kind: 'cluster', sql: false, gateways, nodes: () => clusterFleetNodes(client, view), devices: () => null });

  app.post(SYNC_PATH, {
    bodyLimit: maxBatchBytes,
    errorHandler: syncErrorHandler(log, metrics.batches, maxBatchBytes),
    onRequest: syncRequestCheck(tokens, maxBatchBytes, () => shuttingDown),
  }, async (req, reply) => {
    const gateway = String(req.headers['x-lmj-gateway']);
    if (!Buffer.isBuffer(req.body)) throw new LmjError('BAD_BATCH', 'empty body');
    // The whole batch is validated here, before any part leaves the router.
    const batch = decodeBatch(req.body, { isValidDeviceId, gatewayId: gateway, codec });
    // No table at all (never initialized, or invalid from the start): 503 before anything is routed.
    view.current();
    const devices = await forwardBatch({ routes, targets, http, partitionOf, headers: headersFor(req), onRefusal: (code) => metrics.batches.inc({ result: `refused_${code}` }) }, batch, req.body);
    const failed = devices.filter((d) => 'error' in d);
    metrics.batches.inc({ result: failed.length === 0 ? 'ok' : failed.length === devices.length ? 'failed' : 'partial' });
    gateways.upload(gateway, devices.length, devices.reduce((sum, d) => sum + ('applied' in d ? d.applied : 0), 0));
    if (failed.length > 0) void reply.header('retry-after', '1');
    if (failed.length === devices.length) {
      const first = failed[0] as { error: { code: string; message: string } };
      void reply.code(503);
      return { error: { code: 'NODE_UNAVAILABLE', message: `no part of the batch was committed: ${first.error.code}: ${first.error.message}` }, seq: batch.seq, devices };
    }
    return { seq: batch.seq, devices };
  });

  const qctx = (req: FastifyRequest): QueryContext => ({ view, routes, targets, http, partitionOf, headers: headersFor(req) });
  registerReads(app, qctx, () => shuttingDown);
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    void reply.type(contentType);
    return body;
  });

  const close = async (): Promise<void> => {
    await app.close();
    await http.close();
    await view.close();
    root.close();
  };
  try {
    await app.listen({ host, port: opts.httpPort });
  } catch (err) {
    await close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.httpPort;
  const name = `router-${host}:${port}-${process.pid}`;
  const driver = new MoveDriver({
    client,
    view,
    http,
    clusterToken: opts.clusterToken,
    peerTls: opts.peerTls,
    rateBytesPerSec: opts.moveRateBytesPerSec ?? 20 * 1024 * 1024,
    name,
    ...(opts.moveDriverTtlSeconds === undefined ? {} : { ttlSeconds: opts.moveDriverTtlSeconds }),
    ...(opts.moveConcurrency === undefined ? {} : { concurrency: opts.moveConcurrency }),
    ...(opts.moveCleanupDelaySeconds === undefined ? {} : { cleanupDelaySeconds: opts.moveCleanupDelaySeconds }),
    ...(opts.moveHoldFile === undefined ? {} : { hold: new MoveHold(opts.moveHoldFile) }),
    registry: metrics.registry,
    log,
  });
  // Only the routers with --auto-balance campaign for the balancer, so one of them balances whoever drives the moves.
  const balancer = opts.autoBalance === undefined ? undefined : new Balancer({ client, view, http, clusterToken: opts.clusterToken, ...opts.autoBalance, name, ttlSeconds: opts.moveDriverTtlSeconds ?? 5, registry: metrics.registry, log });
  let stopping: Promise<void> | undefined;
  return {
    http: { host, port },
    view,
    stop(): Promise<void> {
      stopping ??= (async () => {
        shuttingDown = true;
        await Promise.all([driver.close(), balancer?.close()]);
        await close();
      })();
      return stopping;
    },
  };
}

/** The nodes of the membership and live records, with the load each last reported and its ranges in the watched table. */
async function clusterFleetNodes(client: Parameters<typeof listNodes>[0], view: TableView): Promise<FleetNode[]> {
  const [registered, live] = await Promise.all([listNodes(client), listLiveNodes(client)]);
  let table: ReturnType<TableView['current']> | null = null;
  try {
    table = view.current();
  } catch {
    // No valid table yet: nodes are listed without ranges.
  }
  const counts = table?.rangesPerOwner() ?? new Map<string, number>();
  const perRange = table?.meta.partitionsPerRange ?? null;
  const ids = [...new Set([...registered.nodes.map((n) => n.id), ...live.nodes.map((n) => n.id)])].sort();
  return ids.map((id) => {
    const l = live.nodes.find((n) => n.id === id);
    const ranges = counts.get(id) ?? 0;
    return {
      id,
      alive: l !== undefined,
      address: l === undefined ? null : `${l.address.host.includes(':') ? `[${l.address.host}]` : l.address.host}:${l.address.port}`,
      ranges,
      partitions: perRange === null ? null : ranges * perRange,
      devices: l?.load.devices ?? null,
      bytes: l?.load.bytes ?? null,
      writesPerSec: l?.load.writesPerSec ?? null,
      readsPerSec: l?.load.readsPerSec ?? null,
      updatedAt: l?.updatedAt ?? null,
    };
  });
}

/** Fastify with the shared error mapping, tight parsing limits and a JSON 404. */
function baseApp(log: Logger, https: HttpsOptions | undefined, metrics: RouterMetrics): FastifyInstance {
  // Typed as the plain-HTTP instance: the routes and hooks are the same for both servers.
  const app = Fastify({
    ...(https === undefined ? {} : { https: tlsServerOptions(https.material, https.clientCerts, https.handshakeTimeoutMs) }),
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024,
    routerOptions: { maxParamLength: 128 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  }) as unknown as FastifyInstance;
  if (https !== undefined) guardHttpsServer(app.server as unknown as TlsServer, https, new TlsMetrics(metrics.registry), log);
  app.setErrorHandler(makeErrorHandler(log));
  app.setNotFoundHandler((req, reply) => {
    const err = new LmjError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    void reply.code(err.httpStatus).send(errorBody(err));
  });
  return app;
}

/** The read routes: device queries forwarded to their owners, the fleet gathered, the table, health. */
function registerReads(app: FastifyInstance, qctx: (req: FastifyRequest) => QueryContext, isShuttingDown: () => boolean): void {
  const forward = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<unknown> => {
    const res = await queryDevice(qctx(req), req.params.id, req.url);
    void reply.code(res.status);
    return res.json;
  };
  app.get<{ Querystring: ListQuery }>('/devices', { schema: { querystring: listQuery } }, async (req) => listFleet(qctx(req), req.query));
  app.get<{ Params: { id: string } }>('/devices/:id', { schema: { params: deviceParams } }, forward);
  app.get<{ Params: { id: string } }>('/devices/:id/latest', { schema: { params: deviceParams } }, forward);
  app.get<{ Params: { id: string } }>('/devices/:id/readings', { schema: { params: deviceParams, querystring: readingsQuery } }, forward);
  app.get<{ Params: { id: string; ptr: string } }>('/devices/:id/entities/:ptr', { schema: { params: entityParams } }, forward);
  app.get('/routing', async (req) => qctx(req).view.snapshot());
  app.get('/healthz', async (req, reply) => {
    const down = isShuttingDown();
    void reply.code(down ? 503 : 200);
    return { status: down ? 'shutting_down' : 'ok', role: 'router', table: qctx(req).view.status() };
  });
}
