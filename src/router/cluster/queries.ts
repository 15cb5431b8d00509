/**
 * A cluster router's queries. One device: forwarded to its owner with the routing claim
 * (a refusal re-routes, bounded), the owner's answer passed through. The fleet
 * (`GET /devices`): asked of every live node and every owner named in the table, merged
 * by id; owners that fail are reported, not hidden:
 * `{devices, next, partial: true, failed: [{node, error: {code, message}}]}`.
 */
import { parseRefusal, type TableView } from '../../cluster/index.js';
import { isLmjError, LmjError } from '../../errors.js';
import { encodeClaims, ROUTE_HEADER } from '../route-claims.js';
import type { HttpPools, PeerAnswer } from './http-pools.js';
import type { Routes } from './routes.js';
import type { Target, Targets } from './targets.js';

const MAX_ATTEMPTS = 4;

/** What the query paths need. */
export interface QueryContext {
  view: TableView;
  routes: Routes;
  targets: Targets;
  http: HttpPools;
  partitionOf: (deviceId: string) => number;
  headers: (target: Target) => Record<string, string>;
}

/** Forwards `GET url` for one device to its owner; resolves with the owner's status and body. */
export async function queryDevice(ctx: QueryContext, deviceId: string, url: string): Promise<PeerAnswer> {
  const partition = ctx.partitionOf(deviceId);
  let last: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const route = ctx.routes.peek(partition);
    // Nobody ever owned its range: no batch for this device was ever applied.
    if (route.owner === null) throw new LmjError('NOT_FOUND', `unknown device ${deviceId}`, { details: { id: deviceId } });
    const target = ctx.targets.of(route.owner);
    const headers = ctx.headers(target);
    if (target.kind === 'node') headers[ROUTE_HEADER] = encodeClaims([route]);
    let res: PeerAnswer;
    try {
      res = await ctx.http.request(target.origin, 'GET', url, headers);
    } catch (err) {
      ctx.targets.failed(target);
      throw err;
    }
    const refusal = parseRefusal(res.json);
    if (refusal === undefined) return res;
    last = refusal;
    ctx.routes.learn(refusal.details);
    await ctx.routes.catchUp(refusal.details.version, 1000);
  }
  throw new LmjError('NODE_UNAVAILABLE', `device ${deviceId}: routing refused ${MAX_ATTEMPTS} times`, { details: { last } });
}

interface DeviceRow {
  id: string;
  lastSeen: number;
  readings: number;
}

/** The owners to ask for the fleet: every live node plus every owner the table names. */
function fleetTargets(ctx: QueryContext): { id: string; target?: Target; error?: LmjError }[] {
  const ids = new Map<string, { kind: 'node' | 'group'; id: string }>();
  for (const n of ctx.view.liveNodes()) ids.set(`node:${n.id}`, { kind: 'node', id: n.id });
  for (const r of ctx.view.current().ranges) if (r.owner !== null) ids.set(`${r.owner.kind}:${r.owner.id}`, r.owner);
  return [...ids.values()].map((owner) => {
    try {
      return { id: owner.id, target: ctx.targets.of(owner) };
    } catch (err) {
      return { id: owner.id, error: isLmjError(err) ? err : new LmjError('NODE_UNAVAILABLE', String(err)) };
    }
  });
}

/** Scatter-gather of `GET /devices?limit=&cursor=`. */
export async function listFleet(ctx: QueryContext, query: { limit?: number; cursor?: string }): Promise<Record<string, unknown>> {
  const limit = query.limit ?? 100;
  const qs = new URLSearchParams({ limit: String(limit), ...(query.cursor === undefined ? {} : { cursor: query.cursor }) });
  const failed: { node: string; error: { code: string; message: string } }[] = [];
  const rows = new Map<string, DeviceRow>();
  let more = false;
  await Promise.all(
    fleetTargets(ctx).map(async ({ id, target, error }) => {
      try {
        if (target === undefined) throw error ?? new LmjError('NODE_UNAVAILABLE', `${id} unreachable`);
        const res = await ctx.http.request(target.origin, 'GET', `/devices?${qs.toString()}`, ctx.headers(target));
        const body = res.json as { devices?: DeviceRow[]; next?: string | null; error?: { code: string; message: string } };
        if (res.status !== 200 || !Array.isArray(body.devices)) throw new LmjError('NODE_UNAVAILABLE', `${id} answered ${res.status}: ${body.error?.message ?? ''}`);
        if (body.next !== null && body.next !== undefined) more = true;
        for (const d of body.devices) {
          const seen = rows.get(d.id);
          // A device on two owners (a range moved): the copy with more readings is the current one.
          if (seen === undefined || d.readings > seen.readings) rows.set(d.id, d);
        }
      } catch (err) {
        const e = isLmjError(err) ? err : new LmjError('NODE_UNAVAILABLE', String(err));
        failed.push({ node: id, error: { code: e.code, message: e.message } });
      }
    }),
  );
  const sorted = [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const page = sorted.slice(0, limit);
  const last = page[page.length - 1];
  const next = (more || sorted.length > limit) && last !== undefined ? last.id : null;
  return { devices: page, next, ...(failed.length > 0 ? { partial: true, failed: failed.sort((a, b) => (a.node < b.node ? -1 : 1)) } : {}) };
}
