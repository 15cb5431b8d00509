/**
 * The dashboard: a page at `/` served by the daemon (static files, uPlot from its
 * package, nothing from the network), the bucketed series endpoint, an overview
 * endpoint and a Server-Sent Events stream of live values.
 *
 * GET /                              the page
 * GET /dashboard/assets/:file        app.js, and the shared app.css, chart.js, uPlot (src/http/dashboard/)
 * GET /dashboard/overview            rates, counters, rejects, dead letters, sync, disk, SSE clients
 * GET /devices/:id/series            ?fields=a,b&from=&to=&buckets=N → per-bucket min/avg/max/count
 * GET /events?watch=a,b              SSE: `seen`, `latest` (watched devices), `overview`
 *
 * Routes are added to the host's fastify app, so its error handler (the API's
 * `{"error":{…}}` shape), limits and listen address apply unchanged.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MAX_SERIES_FIELDS } from '../../core/telemetry/series.js';
import { LmjError } from '../../errors.js';
import { loadPageAssets, publicDir, registerPage } from '../../http/dashboard/page-assets.js';
import { OverviewSampler } from './overview.js';
import { eventsQuery, seriesParams, seriesQuery, type EventsQueryString, type SeriesQueryString } from './schemas.js';
import { SseHub, type SseCounters, type SseLimits } from './sse-hub.js';
import type { DashboardDeps } from './types.js';

/** Options of {@link registerDashboard}. */
export interface DashboardOptions {
  /** Prometheus registry for the dashboard's own counters. */
  registry?: Registry;
  sse?: Partial<SseLimits>;
  /** How often changed devices are pushed to clients, ms (default 200). */
  pushMs?: number;
  /** How often the overview is sampled and pushed, ms (default 2000). */
  overviewMs?: number;
}

/** Handle returned to the host: feed it stored readings. */
export interface Dashboard {
  /** A reading of `deviceId` with receive time `ts` was committed. Cheap: marks the device changed. */
  readingStored(deviceId: string, ts: number): void;
  readonly hub: SseHub;
}

/** Default series window when `from`/`to` are omitted: the last hour. */
const DEFAULT_WINDOW_MS = 3_600_000;
const DEFAULT_BUCKETS = 300;
/** Devices one SSE client may watch for latest values. */
export const MAX_WATCH = 32;

function splitList(s: string | undefined, max: number, what: string): string[] {
  if (s === undefined) return [];
  const list = [...new Set(s.split(',').map((f) => f.trim()).filter((f) => f !== ''))];
  if (list.length > max) throw new LmjError('BAD_REQUEST', `at most ${max} ${what}`, { details: { count: list.length } });
  return list;
}

function sseCounters(registry: Registry | undefined, hub: () => SseHub): SseCounters | undefined {
  if (registry === undefined) return undefined;
  const registers = [registry];
  const dropped = new Counter({ name: 'lmj_dashboard_sse_dropped_total', help: 'SSE events dropped because a client queue was full', registers });
  const disconnects = new Counter({
    name: 'lmj_dashboard_sse_disconnects_total',
    help: 'SSE clients disconnected by the daemon, by reason (drops, stalled, shutdown)',
    labelNames: ['reason'],
    registers,
  });
  new Gauge({
    name: 'lmj_dashboard_sse_clients',
    help: 'Connected SSE clients',
    registers,
    collect() {
      this.set(hub().stats().connected);
    },
  });
  return { dropped: (n) => dropped.inc(n), disconnected: (reason) => disconnects.inc({ reason }) };
}

/** Adds the dashboard's routes to `app`; returns the hook for stored readings. */
export function registerDashboard(app: FastifyInstance, deps: DashboardDeps, options: DashboardOptions = {}): Dashboard {
  const assets = loadPageAssets(publicDir(import.meta.url), ['app.js']);
  const sampler = new OverviewSampler(deps);
  const hub: SseHub = new SseHub(options.sse, sseCounters(options.registry, () => hub));
  /** Devices changed since the last push, with their newest ts. */
  let changed = new Map<string, number>();

  // One push at a time: overlapping pushes could send an older `latest` after a newer one.
  let pushing = false;
  const push = async (): Promise<void> => {
    if (changed.size === 0 || pushing) return;
    pushing = true;
    const batch = changed;
    changed = new Map();
    try {
      await pushBatch(batch);
    } finally {
      pushing = false;
    }
  };
  const pushBatch = async (batch: Map<string, number>): Promise<void> => {
    const watched = hub.watched();
    for (const [id, ts] of batch) {
      hub.publish(`seen:${id}`, 'seen', { id, ts });
      if (!watched.has(id)) continue;
      try {
        hub.publish(`latest:${id}`, 'latest', await deps.devices.latest(id), id);
      } catch (err) {
        // The device became unavailable meanwhile; its `seen` went out, the page keeps old values.
        app.log.debug({ err, deviceId: id }, 'dashboard latest failed');
      }
    }
  };
  const pushTimer = setInterval(() => void push(), options.pushMs ?? 200).unref();
  const overviewTimer = setInterval(() => {
    // Counters are sampled always (rates need two samples); the full overview only for listeners.
    const next = hub.stats().connected === 0 ? sampler.sample() : sampler.overview(true).then((ov) => hub.publish('overview', 'overview', { ...ov, sse: hub.stats() }));
    next.catch((err: unknown) => app.log.warn({ err }, 'dashboard overview failed'));
  }, options.overviewMs ?? 2000).unref();
  // preClose: open event streams would otherwise keep the server from closing.
  app.addHook('preClose', async () => {
    clearInterval(pushTimer);
    clearInterval(overviewTimer);
    hub.close();
  });

  registerPage(app, assets);

  app.get('/dashboard/overview', async () => ({ ...(await sampler.overview(false)), sse: hub.stats() }));

  app.get<{ Params: { id: string }; Querystring: SeriesQueryString }>(
    '/devices/:id/series',
    { schema: { params: seriesParams, querystring: seriesQuery } },
    async (req) => {
      const q = req.query;
      const fields = splitList(q.fields, MAX_SERIES_FIELDS, 'fields');
      if (fields.length === 0) throw new LmjError('BAD_REQUEST', 'fields must name at least one path');
      const to = q.to ?? Date.now();
      const from = q.from ?? Math.max(0, to - DEFAULT_WINDOW_MS);
      if (to <= from) throw new LmjError('BAD_REQUEST', 'to must be after from', { details: { from, to } });
      const series = await deps.devices.series(req.params.id, { from, to, buckets: q.buckets ?? DEFAULT_BUCKETS, fields });
      return { id: req.params.id, ...series };
    },
  );

  app.get<{ Querystring: EventsQueryString }>('/events', { schema: { querystring: eventsQuery } }, async (req, reply) => {
    if (!hub.hasRoom()) throw new LmjError('OVERLOADED', `at most ${hub.limits.maxClients} event streams`);
    const watch = new Set(splitList(req.query.watch, MAX_WATCH, 'watched devices'));
    reply.hijack();
    hub.add(reply.raw, watch, { watch: [...watch], limits: hub.limits });
    // Watched devices start with their current values, not with the next reading.
    for (const id of watch) {
      deps.devices.latest(id).then(
        (v) => hub.publish(`latest:${id}`, 'latest', v, id),
        () => undefined,
      );
    }
  });

  return {
    readingStored(deviceId, ts) {
      changed.set(deviceId, ts);
    },
    hub,
  };
}
