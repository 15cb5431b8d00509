/**
 * A data node process (`lmj-edge node`, docs/cluster.md): a router-less holder of
 * devices. Registers itself in etcd under a lease (address, capacity, load), keeps a
 * watched view of the routing table, applies batch parts a cluster router sends it and
 * answers device queries — only for partitions it owns at the epoch the router routed
 * by. A refusal (NOT_OWNER 421, STALE_EPOCH 409, EPOCH_AHEAD 503) carries the node's
 * current range, epoch and owner, and nothing is written.
 *
 * POST /cluster/v1/apply     CBOR batch part (src/sync/batch.ts), headers x-lmj-gateway, x-lmj-route
 *                            → the batch answer {"seq","devices":[…]}
 * GET  /devices…             the shared read routes (src/http/server.ts), own devices only
 * GET  /healthz, /metrics, /cluster/v1/status
 * …    /cluster/v1/move/*     range moves, node to node (move-endpoints.ts)
 * Layout: DATA/devices/<id>/ (one instance per device), DATA/node/{registry,locations}.
 */
import type { FastifyInstance } from 'fastify';
import { NodeRegistration, TableView, connectEtcd, scopeTo, type TableViewStatus } from '../../cluster/index.js';
import { getCodec } from '../../codec/index.js';
import type { Durability } from '../../core/types.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { createLogger, type Logger } from '../../http/logger.js';
import { isLoopback } from '../../http/loopback.js';
import { buildHttpApi } from '../../http/server.js';
import type { HttpsOptions, PeerTls } from '../../http/tls-listener.js';
import { decodeBatch } from '../../sync/batch.js';
import { applyBatch } from '../apply-batch.js';
import { DataNodes } from '../data-nodes.js';
import { DeviceDirectory } from '../directory.js';
import { RouterMetrics } from '../metrics.js';
import { routerQuerySource } from '../query-source.js';
import { decodeClaims, ROUTE_HEADER } from '../route-claims.js';
import { syncErrorHandler } from '../sync-errors.js';
import { checkClusterToken } from './cluster-token.js';
import { NodeLoad, nodeCapacity } from './load.js';
import { registerMoveEndpoints } from './move-endpoints.js';
import { Ownership } from './ownership.js';
import { WriteGate } from './write-gate.js';

/** Path of a node's apply endpoint. */
export const APPLY_PATH = '/cluster/v1/apply';

/** Options of {@link startDataNode}. */
export interface DataNodeOptions {
  etcd: readonly string[];
  nodeId: string;
  /** Member of this router group: table and membership under the group's scope (docs/cluster.md). */
  group?: string;
  dataDir: string;
  httpHost?: string;
  /** 0 = any free port. */
  httpPort: number;
  /** Shared secret routers send as `authorization: Bearer`; required beyond loopback. */
  clusterToken?: string;
  durability?: Durability;
  /** Lease TTL, seconds (default 10). */
  ttlSeconds?: number;
  /** `--join`: the live record marks the node as a balancing candidate (docs/cluster.md, The balancer). */
  join?: boolean;
  maxBatchBytes?: number;
  /** Serve HTTPS (`--tls-cert`, `--tls-key`, `--tls-ca`): the live record advertises https, routers verify it with `--upstream-ca`. */
  https?: HttpsOptions | undefined;
  /** `--upstream-ca` of the node: the CA a move's HTTPS source must chain to when this node pulls from it, and this node's certificate. */
  peerTls?: PeerTls | undefined;
  log?: Logger;
}

/** A running data node. */
export interface DataNode {
  readonly http: { host: string; port: number };
  readonly view: TableView;
  status(): { id: string; table: TableViewStatus; devices: number };
  stop(): Promise<void>;
}

/** Starts a data node; throws BAD_CONFIG / CLUSTER_UNAVAILABLE / NODE_ID_IN_USE. */
export async function startDataNode(opts: DataNodeOptions): Promise<DataNode> {
  const host = opts.httpHost ?? '127.0.0.1';
  const log = opts.log ?? createLogger('info');
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  if (opts.clusterToken === undefined && !isLoopback(host)) {
    throw new LmjError('BAD_CONFIG', `the node listens on ${host}, beyond this machine: set LMJ_EDGE_CLUSTER_TOKEN`, { details: { key: 'clusterToken' } });
  }
  const codec = getCodec();
  const root = connectEtcd(opts.etcd);
  const client = scopeTo(root, opts.group);
  const view = await TableView.open(client).catch((err: unknown) => {
    root.close();
    throw err;
  });
  // One node, all of its devices: the single-process apply path with a table that names only this node.
  const self = { id: opts.nodeId, dir: '.' };
  const nodes = new DataNodes({
    dataDir: opts.dataDir,
    codec,
    durability: opts.durability ?? 'safe',
    table: { nodeFor: () => self.id, nodes: () => [self], snapshot: () => ({ version: 1, nodes: [self], ranges: [{ from: 0, to: 65535, node: self.id }] }) },
  });
  const directory = new DeviceDirectory(opts.dataDir, 'node');
  const reconciled = directory.reconcile(nodes).catch(() => undefined);
  const ownership = new Ownership(view, opts.nodeId, (id) => codec.partitionOf(id));
  const load = new NodeLoad(() => directory.registry.count());
  const metrics = new RouterMetrics(codec.kind);
  let shuttingDown = false;
  const app = buildHttpApi({
    https: opts.https,
    source: routerQuerySource(nodes, directory),
    metrics,
    log,
    isShuttingDown: () => shuttingDown,
    health: () => ({ role: 'node', node: opts.nodeId }),
    deviceGuard: async (id, headers) => {
      checkClusterToken(opts.clusterToken, headers.authorization);
      await ownership.checkQuery(id, headers);
      load.noteRead(id);
    },
  });
  const gate = new WriteGate();
  registerApply(app, { log, metrics, maxBatchBytes, ownership, load, nodes, directory, gate, clusterToken: opts.clusterToken, isShuttingDown: () => shuttingDown });
  const pool = nodes.all()[0]?.pool;
  if (pool === undefined) throw new Error('a data node holds exactly one pool');
  const moves = registerMoveEndpoints(app, { self: opts.nodeId, dataDir: opts.dataDir, view, pool, directory, codec, gate, clusterToken: opts.clusterToken, peerTls: opts.peerTls, heatOf: (id) => load.heatOf(id) });
  app.get('/cluster/v1/status', async () => ({ id: opts.nodeId, table: view.status(), devices: directory.registry.count() }));

  const close = async (): Promise<void> => {
    await app.close();
    await moves.close();
    await reconciled;
    await directory.close();
    await nodes.close();
    await view.close();
    root.close();
  };
  let registration: NodeRegistration;
  let port: number;
  try {
    await app.listen({ host, port: opts.httpPort });
    const addr = app.server.address();
    port = typeof addr === 'object' && addr !== null ? addr.port : opts.httpPort;
    registration = await NodeRegistration.register(client, {
      id: opts.nodeId,
      address: { host, port },
      capacity: nodeCapacity(opts.dataDir),
      load: () => load.figures(),
      ...(opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds }),
      ...(opts.join === true ? { candidate: true } : {}),
      ...(opts.https === undefined ? {} : { scheme: 'https' as const }),
      onStateChange: (state, err) => log.warn({ state, err }, 'node registration changed'),
    });
  } catch (err) {
    await close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    http: { host, port },
    view,
    status: () => ({ id: opts.nodeId, table: view.status(), devices: directory.registry.count() }),
    stop(): Promise<void> {
      stopping ??= (async () => {
        shuttingDown = true;
        // Leave membership first so routers stop sending before the store closes.
        await registration.stop().catch(() => undefined);
        await close();
      })();
      return stopping;
    },
  };
}

/** What the apply route needs. */
interface ApplyDeps {
  log: Logger;
  metrics: RouterMetrics;
  maxBatchBytes: number;
  ownership: Ownership;
  load: NodeLoad;
  nodes: DataNodes;
  directory: DeviceDirectory;
  gate: WriteGate;
  clusterToken: string | undefined;
  isShuttingDown: () => boolean;
}

/** `POST /cluster/v1/apply`: validate the part, check every device's claim, then apply. */
function registerApply(app: FastifyInstance, d: ApplyDeps): void {
  const codec = getCodec();
  app.addContentTypeParser('application/cbor', { parseAs: 'buffer', bodyLimit: d.maxBatchBytes }, (_req, body, done) => done(null, body));

  app.post(APPLY_PATH, {
    bodyLimit: d.maxBatchBytes,
    errorHandler: syncErrorHandler(d.log, d.metrics.batches, d.maxBatchBytes),
    onRequest: async (req) => {
      if (d.isShuttingDown()) throw new LmjError('SHUTTING_DOWN');
      checkClusterToken(d.clusterToken, req.headers.authorization);
    },
  }, async (req) => {
    const gateway = req.headers['x-lmj-gateway'];
    if (typeof gateway !== 'string' || gateway.length === 0) throw new LmjError('BAD_BATCH', 'missing x-lmj-gateway header');
    const claims = decodeClaims(req.headers[ROUTE_HEADER]);
    if (!Buffer.isBuffer(req.body)) throw new LmjError('BAD_BATCH', 'empty body');
    const batch = decodeBatch(req.body, { isValidDeviceId, gatewayId: gateway, codec });
    // Check + write in flight as one: a move's final delta waits for every write that passed the check.
    const { answer, counts } = await d.gate.run(async () => {
      // Every device is checked before anything is written: a refused part writes nothing.
      await d.ownership.checkDevices(batch.devices.map((p) => p.deviceId), claims, { write: true });
      return applyBatch(d.nodes, d.directory, gateway, batch);
    });
    d.load.noteWrites(counts.applied, req.body.length, answer.devices);
    d.metrics.batches.inc({ result: counts.failedDevices > 0 ? 'partial' : 'ok' });
    d.metrics.records.inc({ outcome: 'applied' }, counts.applied);
    d.metrics.records.inc({ outcome: 'duplicate' }, counts.duplicates);
    return answer;
  });
}
