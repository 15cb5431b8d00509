/**
 * The router's fleet page: the page at `/` (static files from ./public and the shared
 * ones of src/http/dashboard/) and `GET /fleet`, the gateways that uploaded to this
 * router and the data nodes with their load and ranges. Devices, latest values and
 * readings come from the router's existing routes (`/devices`, `/devices/:id/latest`,
 * `POST /query` with time buckets, or `/devices/:id/readings` where there is no SQL).
 *
 * GET /fleet → {kind, at, sql, devices, gateways:[…], untrackedUploads, nodes:[…]}
 *
 * `sql` tells the page whether it may chart with `POST /query`: not on the cluster
 * router (no SQL endpoint), and not when this request was let in by the `lmj_token`
 * cookie of the `/?token=` login, since a cookie is never accepted for a POST
 * (src/http/api-auth.ts); the page then buckets the window's raw readings itself.
 *
 * The node figures are cached for {@link NODES_TTL_MS}, so any number of open pages
 * polling costs at most one membership read per interval.
 */
import type { FastifyInstance } from 'fastify';
import { authOf } from '../../http/api-auth.js';
import { loadPageAssets, publicDir, registerPage } from '../../http/dashboard/page-assets.js';
import type { GatewayTally } from './gateway-tally.js';

/** A data node on the fleet page; load figures are null where the router has none. */
export interface FleetNode {
  id: string;
  alive: boolean;
  address: string | null;
  /** Ranges of the table this node owns. */
  ranges: number;
  /** Partitions in those ranges. */
  partitions: number | null;
  devices: number | null;
  bytes: number | null;
  writesPerSec: number | null;
  readsPerSec: number | null;
  updatedAt: number | null;
}

/** What the page needs from its router. */
export interface FleetSource {
  kind: 'router' | 'cluster';
  /** Whether `POST /query` exists (charts are then bucketed on the server). */
  sql: boolean;
  gateways: GatewayTally;
  nodes(): Promise<FleetNode[]>;
  /** Devices known to the router, when it counts them itself. */
  devices(): number | null;
}

/** How long node figures are reused between polls, ms. */
export const NODES_TTL_MS = 2000;

/** Adds `/` and `/fleet` (and the page's assets) to `app`. */
export function registerFleetPage(app: FastifyInstance, source: FleetSource): void {
  registerPage(app, loadPageAssets(publicDir(import.meta.url), ['fleet.js']));
  let cached: { at: number; nodes: Promise<FleetNode[]> } | undefined;
  const nodes = (): Promise<FleetNode[]> => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > NODES_TTL_MS) {
      const p = source.nodes();
      cached = { at: now, nodes: p };
      // A failed read is not kept: the next poll tries again.
      p.catch(() => {
        if (cached?.nodes === p) cached = undefined;
      });
    }
    return cached.nodes;
  };
  app.get('/fleet', async (req) => ({
    kind: source.kind,
    at: Date.now(),
    sql: source.sql && (authOf(req) === undefined || req.headers.authorization !== undefined),
    devices: source.devices(),
    gateways: source.gateways.list(),
    untrackedUploads: source.gateways.untracked,
    nodes: await nodes(),
  }));
}
