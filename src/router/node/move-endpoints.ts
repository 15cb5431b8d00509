/**
 * A data node's side of range moves (docs/cluster.md, Moves), node to node on the node's
 * own server. The source serves its devices of a range and each device's records after
 * an element (the readings set is append-only per device, so a delta is "the elements
 * after the copy's last one"); the target pulls them into its own instances. The router
 * driving the move calls the target once per device and chunk, which bounds the bytes
 * per call (the driver's throttle). The final delta after the fence is one call for the
 * whole range (move-final.ts).
 *
 * GET  /cluster/v1/move/devices?from&to              source: its devices in the range (with their partitions and heat)
 * GET  /cluster/v1/move/export?device&after&limit    source: CBOR {i: instance image, b: batch of records}
 * POST /cluster/v1/move/begin   {move, from, to}     target: drop stale copies of the range
 * POST /cluster/v1/move/pull    {move, source, device, maxBytes}  target: copy a chunk
 * POST /cluster/v1/move/cleanup {from, to}           any: drop copies of a range it does not own
 * POST /cluster/v1/move/delta, /cluster/v1/move/final  the final delta (move-final.ts)
 */
import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { Encoder, decode } from 'cbor-x';
import type { Codec } from '../../codec/types.js';
import { checkImage, exportImage, type InstanceImage } from '../../core/telemetry/instance-image.js';
import { exportRecords } from '../../core/telemetry/records.js';
import type { ReadingRecord } from '../../core/telemetry/types.js';
import { readRoot } from '../../core/telemetry/root.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { decodeBatch, encodeBatch } from '../../sync/batch.js';
import { checkClusterToken } from './cluster-token.js';
import { EXPORT_LIMIT, MOVE_GATEWAY, applyIfNew, askSource, assertLearner, copyState, devicesIn, partitionBounds, sourceOrigin, type MoveEndpointDeps } from './move-copy.js';
import { registerFinalDelta } from './move-final.js';

export type { MoveEndpointDeps } from './move-copy.js';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });

function deviceParam(v: unknown): string {
  if (typeof v !== 'string' || !isValidDeviceId(v)) throw new LmjError('BAD_DEVICE_ID', 'device must be a valid device id');
  return v;
}

/**
 * Deletes this node's copies of a range it neither owns nor is the learner of. `from..to`
 * may since have been split: it must start and end on range boundaries, and the copies
 * of each of its ranges this node owns or receives again stay.
 */
async function dropCopies(d: MoveEndpointDeps, from: number, to: number): Promise<number> {
  if (d.view.rangeOf(from).from !== from || d.view.rangeOf(to).to !== to) throw new LmjError('RANGE_NOT_FOUND', `no range ${from}-${to} in this node's table`, { details: { from, to } });
  const drop: { from: number; to: number }[] = [];
  for (let p = from; p <= to; ) {
    const r = d.view.rangeOf(p);
    if (!((r.owner?.kind === 'node' && r.owner.id === d.self) || r.learner?.id === d.self)) drop.push({ from: r.from, to: r.to });
    p = r.to + 1;
  }
  if (drop.length === 0) throw new LmjError('MOVE_CONFLICT', `node ${d.self} owns or is receiving range ${from}-${to}: its copies stay`, { details: { from, to } });
  const ids = drop.flatMap((r) => devicesIn(d, r.from, r.to));
  for (const id of ids) await d.pool.exclusive(id, (dir) => rm(dir, { recursive: true, force: true }));
  await d.directory.registry.remove(ids);
  return ids.length;
}

/** Registers the move endpoints on a node's server; `close` ends the connections to sources. */
export function registerMoveEndpoints(app: FastifyInstance, d: MoveEndpointDeps): { close(): Promise<void> } {
  // Keep-alive connections to the sources this node pulls from (https ones verified with --upstream-ca).
  const agent = new Agent(d.peerTls === undefined ? {} : { connect: { ...d.peerTls } });
  const guard = async (req: { headers: Record<string, unknown> }): Promise<void> => checkClusterToken(d.clusterToken, req.headers.authorization);

  app.get<{ Querystring: Record<string, unknown> }>('/cluster/v1/move/devices', { onRequest: guard }, async (req) => {
    const { from, to } = partitionBounds(req.query);
    const devices = devicesIn(d, from, to);
    return { devices, partitions: devices.map((id) => d.codec.partitionOf(id)), heat: devices.map((id) => d.heatOf(id)) };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/cluster/v1/move/export', { onRequest: guard }, async (req, reply) => {
    const id = deviceParam(req.query.device);
    const after = typeof req.query.after === 'string' && /^([0-9a-f]{2}){1,64}$/.test(req.query.after) ? Buffer.from(req.query.after, 'hex') : undefined;
    const limit = Math.min(EXPORT_LIMIT, Math.max(1, Number(req.query.limit ?? EXPORT_LIMIT) || EXPORT_LIMIT));
    if (!d.pool.exists(id)) throw new LmjError('NOT_FOUND', `device ${id} is not on node ${d.self}`, { details: { deviceId: id } });
    // Image and records from one read transaction: a consistent cut of the instance.
    const { records, count, image } = await d.pool.use(id, (store) =>
      store.read((txn) => ({ records: exportRecords(txn, after, limit), count: readRoot(txn)?.readingCount ?? 0, image: exportImage(txn) })),
    );
    void reply.header('content-type', 'application/cbor').header('x-lmj-count', String(count)).header('x-lmj-more', records.length === limit ? '1' : '0');
    // A batch part needs at least one record: with nothing after `after`, no batch.
    const batch = records.length === 0 ? null : encodeBatch({ gatewayId: MOVE_GATEWAY, seq: 0, devices: [{ deviceId: id, records }] });
    return reply.send(encoder.encode({ i: image, b: batch }));
  });

  app.post<{ Body: Record<string, unknown> }>('/cluster/v1/move/begin', { onRequest: guard }, async (req) => {
    const { from, to } = partitionBounds(req.body ?? {});
    await d.view.waitFor((v) => v.tryCurrent()?.rangeOf(from).learner?.id === d.self, 2000).catch(() => undefined);
    assertLearner(d, from);
    // Leftovers of an earlier ownership or an aborted move: the copy starts from nothing.
    const ids = devicesIn(d, from, to);
    for (const id of ids) await d.pool.exclusive(id, (dir) => rm(dir, { recursive: true, force: true }));
    await d.directory.registry.remove(ids);
    return { removed: ids.length };
  });

  app.post<{ Body: Record<string, unknown> }>('/cluster/v1/move/pull', { onRequest: guard }, async (req) => pull(d, agent, req.body ?? {}));

  app.post<{ Body: Record<string, unknown> }>('/cluster/v1/move/cleanup', { onRequest: guard }, async (req) => {
    const { from, to } = partitionBounds(req.body ?? {});
    return { removed: await dropCopies(d, from, to) };
  });
  registerFinalDelta(app, d, agent, guard);
  return { close: () => agent.close() };
}

/** What a pull answers. */
export interface PullAnswer {
  device: string;
  bytes: number;
  readings: number;
  /** The source has more after this chunk. */
  more: boolean;
  /** Readings on the target and on the source (at the last export) after the pull. */
  count: number;
  sourceCount: number;
}

/** Target: copies up to `maxBytes` of one device's records from the source (the delta after this node's last element). */
async function pull(d: MoveEndpointDeps, agent: Agent, body: Record<string, unknown>): Promise<PullAnswer> {
  const id = deviceParam(body.device);
  const source = sourceOrigin(body.source);
  const maxBytes = Math.max(1, Number(body.maxBytes) || 1 << 20);
  assertLearner(d, d.codec.partitionOf(id));
  const answer: PullAnswer = { device: id, bytes: 0, readings: 0, more: true, count: 0, sourceCount: 0 };
  // With a late reading: the source's records from its first one, continuing after the last chunk's last element.
  let full: { after: Buffer | undefined } | undefined;
  while (answer.more && answer.bytes < maxBytes) {
    const state = await copyState(d.pool, id);
    const after = full === undefined ? state.last : full.after;
    // About `maxBytes` per export (a reading is ~100–300 bytes on the wire), so the driver's throttle stays smooth.
    const q = new URLSearchParams({ device: id, limit: String(Math.max(10, Math.min(EXPORT_LIMIT, Math.floor(maxBytes / 256)))) });
    if (after !== undefined) q.set('after', after.toString('hex'));
    const res = await askSource(d, agent, source, `/cluster/v1/move/export?${q}`);
    if (res.status === 404) return { ...answer, more: false, count: state.count };
    const { image, records } = decodeExport(res.raw, id, d.codec);
    answer.sourceCount = Number(res.headers['x-lmj-count'] ?? 0);
    answer.more = res.headers['x-lmj-more'] === '1';
    answer.bytes += res.raw.length;
    const applied = await applyIfNew(d, id, image, records, state.count);
    answer.readings += applied.applied;
    answer.count = applied.count;
    if (full !== undefined) full.after = records[records.length - 1]?.element ?? full.after;
    // A reading older than the copy's last element (a late arrival) is not in an "after" delta: recopy from the start, idempotently.
    if (!answer.more && answer.count < answer.sourceCount && full === undefined) {
      full = { after: undefined };
      answer.more = true;
    }
  }
  return answer;
}

/** An export answer: `{i: image | null, b: batch bytes | null}` (CBOR). Throws BAD_BATCH. */
function decodeExport(raw: Buffer, id: string, codec: Codec): { image: InstanceImage | null; records: ReadingRecord[] } {
  let top: { i?: unknown; b?: unknown } | null;
  try {
    top = decode(raw) as { i?: unknown; b?: unknown } | null;
  } catch (cause) {
    throw new LmjError('BAD_BATCH', `move export is not CBOR: ${(cause as Error).message}`, { cause });
  }
  if (top === null || typeof top !== 'object') throw new LmjError('BAD_BATCH', 'move export must be a CBOR map');
  const image = top.i === null || top.i === undefined ? null : checkImage(top.i, id);
  if (!(top.b instanceof Uint8Array)) return { image, records: [] };
  if (image === null) throw new LmjError('BAD_BATCH', 'move export has records but no image');
  const part = decodeBatch(top.b, { isValidDeviceId, gatewayId: MOVE_GATEWAY, codec }).devices[0];
  if (part === undefined || part.deviceId !== id) throw new LmjError('BAD_BATCH', 'move export names another device');
  return { image, records: part.records };
}
