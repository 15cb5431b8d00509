/**
 * A cluster router's apply path: splits a validated batch per owner (a data node or a
 * router group), sends every part at once and merges the answers into one batch answer.
 * A node's refusal (NOT_OWNER / STALE_EPOCH / EPOCH_AHEAD) teaches the router the newer
 * route and the refused devices are routed again (bounded); RANGE_FENCED (a move's
 * fence) is retried once the table shows the range past the fenced epoch. A part that cannot be
 * committed (node down, etcd unreachable for an assignment, retries used up) answers
 * its devices with an error, so the gateway keeps their cursors and resends them —
 * exactly-once through the nodes' idempotent apply.
 */
import { parseRefusal } from '../../cluster/index.js';
import { isLmjError, LmjError } from '../../errors.js';
import { encodeBatch, parseAnswer, type Batch, type DeviceAnswer, type DeviceRecords } from '../../sync/batch.js';
import { SYNC_PATH } from '../../sync/uplink.js';
import { APPLY_PATH } from '../node/data-node.js';
import { encodeClaims, ROUTE_HEADER } from '../route-claims.js';
import type { HttpPools } from './http-pools.js';
import type { Route, Routes } from './routes.js';
import type { Target, Targets } from './targets.js';

/** Routing attempts per device before its part is answered with the last error. */
const MAX_ATTEMPTS = 5;
/** How long a batch refused by a move's fence waits for the flip per attempt, ms. */
const FENCE_WAIT_MS = 3000;

/** What {@link forwardBatch} needs. */
export interface ForwardContext {
  routes: Routes;
  targets: Targets;
  http: HttpPools;
  partitionOf: (deviceId: string) => number;
  /** Headers every request carries (gateway id; gateway token for group routers; cluster token for nodes). */
  headers: (target: Target) => Record<string, string>;
  /** Counts refusals and retries. */
  onRefusal: (code: string) => void;
}

interface Part {
  target: Target;
  devices: DeviceRecords[];
  routes: Route[];
}

const errorOf = (deviceId: string, err: unknown): DeviceAnswer => {
  const e = isLmjError(err) ? err : new LmjError('NODE_UNAVAILABLE', (err as Error).message);
  return { id: deviceId, error: { code: e.code, message: e.message } };
};

/** Groups devices by target; devices that cannot be routed get an error answer. */
async function split(ctx: ForwardContext, devices: DeviceRecords[], out: Map<string, DeviceAnswer>): Promise<Part[]> {
  const parts = new Map<string, Part>();
  await Promise.all(
    devices.map(async (d) => {
      try {
        const route = await ctx.routes.resolve(ctx.partitionOf(d.deviceId));
        const target = ctx.targets.of(route.owner);
        const key = `${target.kind}:${target.id}`;
        let part = parts.get(key);
        if (part === undefined) parts.set(key, (part = { target, devices: [], routes: [] }));
        part.devices.push(d);
        part.routes.push(route);
      } catch (err) {
        out.set(d.deviceId, errorOf(d.deviceId, err));
      }
    }),
  );
  return [...parts.values()];
}

/** Sends one part; returns the devices to route again (after a refusal). */
async function sendPart(ctx: ForwardContext, batch: Batch, raw: Buffer, part: Part, out: Map<string, DeviceAnswer>): Promise<DeviceRecords[]> {
  // One owner for the whole (already validated) batch: its bytes go on as they came.
  const body = part.devices.length === batch.devices.length ? raw : encodeBatch({ gatewayId: batch.gatewayId, seq: batch.seq, devices: part.devices });
  const headers: Record<string, string> = { ...ctx.headers(part.target), 'content-type': 'application/cbor' };
  if (part.target.kind === 'node') headers[ROUTE_HEADER] = encodeClaims(part.routes);
  try {
    const res = await ctx.http.request(part.target.origin, 'POST', part.target.kind === 'node' ? APPLY_PATH : SYNC_PATH, headers, body);
    if (res.status === 200) {
      for (const a of parseAnswer(res.json).devices) out.set(a.id, a);
      return [];
    }
    const refusal = parseRefusal(res.json);
    if (refusal !== undefined) {
      ctx.onRefusal(refusal.code);
      ctx.routes.learn(refusal.details);
      if (refusal.code === 'EPOCH_AHEAD') await new Promise((r) => setTimeout(r, 100));
      // A move's fence: the owner flips within the fence window; retry once the table shows it.
      else if (refusal.code === 'RANGE_FENCED') await ctx.routes.pastEpoch(refusal.details.partition, refusal.details.epoch, FENCE_WAIT_MS);
      else await ctx.routes.catchUp(refusal.details.version, 1000);
      for (const d of part.devices) out.set(d.deviceId, errorOf(d.deviceId, new LmjError(refusal.code, 'routing refused; retries used up', { details: { ...refusal.details } })));
      return part.devices;
    }
    const e = (res.json as { error?: { code?: string; message?: string } } | null)?.error;
    for (const d of part.devices) out.set(d.deviceId, { id: d.deviceId, error: { code: e?.code ?? 'NODE_UNAVAILABLE', message: `${part.target.id} answered ${res.status}: ${e?.message ?? ''}` } });
  } catch (err) {
    ctx.targets.failed(part.target);
    for (const d of part.devices) out.set(d.deviceId, errorOf(d.deviceId, err));
  }
  return [];
}

/** Applies `batch` (decoded from `raw`) through the owners; one answer entry per device, in batch order. */
export async function forwardBatch(ctx: ForwardContext, batch: Batch, raw: Buffer): Promise<DeviceAnswer[]> {
  const out = new Map<string, DeviceAnswer>();
  let pending = batch.devices;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.length > 0; attempt++) {
    const parts = await split(ctx, pending, out);
    const again = await Promise.all(parts.map((p) => sendPart(ctx, batch, raw, p, out)));
    pending = again.flat();
  }
  return batch.devices.map((d) => out.get(d.deviceId) ?? { id: d.deviceId, error: { code: 'NODE_UNAVAILABLE', message: 'no answer' } });
}
