/**
 * The shared read-only HTTP API (fastify) of the gateway and the router: server setup,
 * error mapping, the device routes over a {@link DeviceReader}, /healthz and the
 * process's own /metrics. Each process adds its own routes (the gateway /deadletters,
 * the router /sync/v1/batch, /routing…). Read-only: it never creates a device, and an
 * invalid device id is refused by the schema before anything touches the disk.
 *
 * GET /devices                      {"devices":[{"id","lastSeen","readings"}],"next"}
 * GET /devices/:id                  device summary
 * GET /devices/:id/latest           {"id","ts","values":{path: value}}
 * GET /devices/:id/readings         {"readings":[{"ts","ptr","id","values"}],"next"}
 *        ?from=&to=&limit=&fields=a,b&cursor=&order=asc|desc
 * GET /devices/:id/entities/:ptr    one entity (members / elements)
 * GET /healthz                      {"status":"ok"} (503 shutting_down, or degraded with a reason)
 * GET /metrics                      Prometheus text
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DeviceReader } from '../devices/read-facade.js';
import { LmjError } from '../errors.js';
import { installApiAuth, type ApiAuthOptions } from './api-auth.js';
import { clientErrorHandler, frameworkErrors } from './client-errors.js';
import { errorBody, makeErrorHandler } from './errors.js';
import type { Logger } from './logger.js';
import type { ProcessMetrics } from './metrics.js';
import type { Server as TlsServer } from 'node:tls';
import { guardHttpsServer, TlsMetrics, tlsServerOptions, type HttpsOptions } from './tls-listener.js';
import {
  deviceParams,
  entityParams,
  listQuery,
  readingsQuery,
  type ListQuery,
  type ReadingsQueryString,
} from './schemas.js';

/** Options of {@link buildHttpApi}. */
export interface HttpApiOptions {
  source: DeviceReader;
  /** This process's metrics, rendered at /metrics. */
  metrics: ProcessMetrics;
  log: Logger;
  /** Extra fields for /healthz (mode, codec…). */
  health?: () => Record<string, unknown>;
  /** True once the daemon is draining: /healthz answers 503. */
  isShuttingDown?: () => boolean;
  /**
   * Runs before every `/devices/:id…` handler (after the schema checked the id); throws to
   * refuse. A data node checks here that it owns the device's partition (docs/cluster.md).
   */
  deviceGuard?: (deviceId: string, headers: Record<string, string | string[] | undefined>) => void | Promise<void>;
  /** Why the process cannot do its work now (e.g. `disk full`): /healthz answers 503 degraded. */
  degradedReason?: () => string | undefined;
  /** API-token authentication of every route (./api-auth.ts); absent = none (loopback listeners). */
  auth?: Omit<ApiAuthOptions, 'registry'>;
  /** Serve HTTPS with this material instead of plain HTTP (./tls-listener.ts). */
  https?: HttpsOptions | undefined;
}

/** Splits `a,b,c` into field paths (empty items dropped). */
function parseFields(fields: string | undefined): string[] | undefined {
  if (fields === undefined) return undefined;
  const list = fields.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (list.length === 0) throw new LmjError('BAD_REQUEST', 'fields must name at least one path');
  if (list.length > 256) throw new LmjError('BAD_REQUEST', 'at most 256 fields');
  return list;
}

/** Builds the fastify app (not listening: call `listen`, or `inject` in tests). */
export function buildHttpApi(opts: HttpApiOptions): FastifyInstance {
  const { source, metrics } = opts;
  const https = opts.https;
  // Typed as the plain-HTTP instance: the routes and hooks are the same for both servers.
  const app = Fastify({
    ...(https === undefined ? {} : { https: tlsServerOptions(https.material, https.clientCerts, https.handshakeTimeoutMs) }),
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Only GETs with small query strings: keep parsing limits tight.
    bodyLimit: 1024,
    routerOptions: { maxParamLength: 128 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    frameworkErrors,
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  if (https !== undefined) guardHttpsServer(app.server as unknown as TlsServer, https, new TlsMetrics(metrics.registry), opts.log);
  app.setErrorHandler(makeErrorHandler(opts.log));
  if (opts.auth !== undefined) installApiAuth(app, { ...opts.auth, registry: metrics.registry });
  app.setNotFoundHandler((req, reply) => {
    const err = new LmjError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    void reply.code(err.httpStatus).send(errorBody(err));
  });
  const guard = opts.deviceGuard;
  if (guard !== undefined) {
    app.addHook('preHandler', async (req) => {
      const id = (req.params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && req.routeOptions.url?.startsWith('/devices/:id') === true) await guard(id, req.headers);
    });
  }

  app.get<{ Querystring: ListQuery }>('/devices', { schema: { querystring: listQuery } }, async (req) => {
    const page = await source.listDevices({ ...req.query });
    return {
      devices: page.devices.map((d) => ({ id: d.id, lastSeen: d.lastSeen, readings: d.readings })),
      next: page.next,
    };
  });

  app.get<{ Params: { id: string } }>('/devices/:id', { schema: { params: deviceParams } }, async (req) =>
    source.deviceSummary(req.params.id),
  );

  app.get<{ Params: { id: string } }>('/devices/:id/latest', { schema: { params: deviceParams } }, async (req) => {
    const v = await source.latest(req.params.id);
    return { id: v.id, ts: v.ts, values: v.values };
  });

  app.get<{ Params: { id: string }; Querystring: ReadingsQueryString }>(
    '/devices/:id/readings',
    { schema: { params: deviceParams, querystring: readingsQuery } },
    async (req) => {
      const q = req.query;
      if (q.from !== undefined && q.to !== undefined && q.to < q.from) {
        throw new LmjError('BAD_REQUEST', 'to must not be before from');
      }
      const fields = parseFields(q.fields);
      const page = await source.readings(req.params.id, {
        ...(q.from === undefined ? {} : { from: q.from }),
        ...(q.to === undefined ? {} : { to: q.to }),
        ...(q.limit === undefined ? {} : { limit: q.limit }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        ...(fields === undefined ? {} : { fields }),
        ...(q.order === 'desc' ? { reverse: true } : {}),
      });
      return {
        readings: page.readings.map((r) => ({ ts: r.ts, ptr: r.ptr, id: r.id, values: r.values })),
        next: page.next,
      };
    },
  );

  app.get<{ Params: { id: string; ptr: string } }>(
    '/devices/:id/entities/:ptr',
    { schema: { params: entityParams } },
    async (req) => source.entity(req.params.id, req.params.ptr),
  );

  app.get('/healthz', async (_req, reply) => {
    const down = opts.isShuttingDown?.() ?? false;
    const reason = down ? undefined : opts.degradedReason?.();
    void reply.code(down || reason !== undefined ? 503 : 200);
    const status = down ? 'shutting_down' : reason !== undefined ? 'degraded' : 'ok';
    return { status, ...(reason === undefined ? {} : { reason }), ...(opts.health?.() ?? {}) };
  });

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    void reply.type(contentType);
    return body;
  });

  return app;
}
