/**
 * A data node's side of range moves (docs/cluster.md, Moves), node to node on the node's
 * own server. The source serves its devices of a range and each device's records after
 * an element (the readings set is append-only per device, so a delta is "the elements
 * after the copy's last one"); the target pulls them into its own instances. The router
 * driving the move calls the target once per device and chunk, which bounds the bytes
 * per call (the driver's throttle), and the final call after the fence passes the fence
 * epoch: the source then answers only once its table shows the fence and every apply
 * that passed the ownership check before it is committed.
 *
 * GET  /cluster/v1/move/devices?from&to&fence        source: its devices in the range (with their partitions and heat)
 * GET  /cluster/v1/move/export?device&after&limit&fence  source: CBOR {i: instance image, b: batch of records}
 * POST /cluster/v1/move/begin   {move, from, to}     target: drop stale copies of the range
 * POST /cluster/v1/move/pull    {move, source, device, maxBytes, fence?}  target: copy a chunk
 * POST /cluster/v1/move/cleanup {from, to}           any: drop copies of a range it does not own
 */
import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import type { TableView } from '../../cluster/index.js';
import type { Codec } from '../../codec/types.js';
import { Encoder, decode } from 'cbor-x';
import { applyImage, checkImage, exportImage, sameImage, type InstanceImage } from '../../core/telemetry/instance-image.js';
import { applyRecords, exportRecords } from '../../core/telemetry/records.js';
import type { ReadingRecord } from '../../core/telemetry/types.js';
import { readRoot } from '../../core/telemetry/root.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { deviceIdsOnDisk } from '../../devices/layout.js';
import type { DevicePool } from '../../devices/pool/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import { tlsFailure } from '../../http/tls-failure.js';
import type { PeerTls } from '../../http/tls-listener.js';
import { decodeBatch, encodeBatch } from '../../sync/batch.js';
import type { DeviceDirectory } from '../directory.js';
import { checkClusterToken } from './cluster-token.js';
import type { WriteGate } from './write-gate.js';

/** Records per export answer. */
const EXPORT_LIMIT = 1000;
/** The gateway id export batches carry (decodeBatch checks it on the target). */
const MOVE_GATEWAY = 'lmj-move';
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
/** How long the final export waits for the node's table to show the fence, ms. */
const FENCE_WAIT_MS = 5000;

/** What the move endpoints need. */
export interface MoveEndpointDeps {
  self: string;
  dataDir: string;
  view: TableView;
  pool: DevicePool;
  directory: DeviceDirectory;
  codec: Codec;
  gate: WriteGate;
  clusterToken: string | undefined;
  /** Verifies a source that advertises https (`--upstream-ca` of the node) and presents this node's certificate to it. */
  peerTls: PeerTls | undefined;
  /** A device's (writes + reads)/s over the node's last load window (the `heat` policy weighs with it). */
  heatOf: (deviceId: string) => number;
}

/** A device's copy state on this node: readings and the last element (hex, '' when none). */
interface CopyState {
  count: number;
  last: Buffer | undefined;
}

async function copyState(pool: DevicePool, id: string): Promise<CopyState> {
  if (!pool.exists(id)) return { count: 0, last: undefined };
  return pool.use(id, (store) =>
    store.read((txn) => {
      const root = readRoot(txn);
      if (root === null) return { count: 0, last: undefined };
      const last = txn.setRange(root.readings, { reverse: true, limit: 1 })[0];
      return { count: root.readingCount, last: last === undefined ? undefined : Buffer.from(last) };
    }),
  );
}

/** True when this node's copy of `id` already has exactly `image` (root pointers, meta and latest). */
async function hasImage(pool: DevicePool, id: string, image: InstanceImage): Promise<boolean> {
  if (!pool.exists(id)) return false;
  const own = await pool.use(id, (store) => store.read((txn) => exportImage(txn)));
  return own !== null && sameImage(own, image);
}

function partitionBounds(q: Record<string, unknown>): { from: number; to: number } {
  const from = Number(q.from);
  const to = Number(q.to);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || to < from) throw new LmjError('BAD_REQUEST', 'from/to must be partitions 0..65535 with from ≤ to');
  return { from, to };
}

function deviceParam(v: unknown): string {
  if (typeof v !== 'string' || !isValidDeviceId(v)) throw new LmjError('BAD_DEVICE_ID', 'device must be a valid device id');
  return v;
}

/** Devices of a partition range held on this node's disk, sorted. */
function devicesIn(d: MoveEndpointDeps, from: number, to: number): string[] {
  return deviceIdsOnDisk(d.dataDir)
    .filter((id) => {
      const p = d.codec.partitionOf(id);
      return p >= from && p <= to;
    })
    .sort();
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

/**
 * Waits until this node's table shows `fence` for `partition`, then (once per fence) for
 * every apply in flight: after that, nothing more is written to the range here.
 */
async function awaitFence(d: MoveEndpointDeps, drained: Set<string>, partition: number, fence: number): Promise<{ viewMs: number; drainMs: number }> {
  if (!Number.isSafeInteger(fence) || fence < 1) throw new LmjError('BAD_REQUEST', 'fence must be an epoch ≥ 1');
  const t0 = performance.now();
  await d.view.waitFor((v) => (v.tryCurrent()?.rangeOf(partition).epoch ?? 0) >= fence, FENCE_WAIT_MS).catch(() => {
    throw new LmjError('EPOCH_AHEAD', `this node's table has not reached the fence epoch ${fence} yet`, { details: { partition, fence } });
  });
  const t1 = performance.now();
  const key = `${d.view.rangeOf(partition).from}:${fence}`;
  if (!drained.has(key)) {
    await d.gate.drain();
    drained.add(key);
  }
  const ms = (x: number): number => Math.round(x * 10) / 10;
  return { viewMs: ms(t1 - t0), drainMs: ms(performance.now() - t1) };
}

/** Registers the move endpoints on a node's server; `close` ends the connections to sources. */
export function registerMoveEndpoints(app: FastifyInstance, d: MoveEndpointDeps): { close(): Promise<void> } {
  // Keep-alive connections to the sources this node pulls from (https ones verified with --upstream-ca).
  const agent = new Agent(d.peerTls === undefined ? {} : { connect: { ...d.peerTls } });
  const guard = async (req: { headers: Record<string, unknown> }): Promise<void> => checkClusterToken(d.clusterToken, req.headers.authorization);
  // Fences (range start and epoch) whose in-flight applies were drained already.
  const drained = new Set<string>();

  app.get<{ Querystring: Record<string, unknown> }>('/cluster/v1/move/devices', { onRequest: guard }, async (req) => {
    const { from, to } = partitionBounds(req.query);
    // After the fence, list only once the writes in flight are in: a device created by one of them is listed too.
    const fenceWait = req.query.fence === undefined ? undefined : await awaitFence(d, drained, from, Number(req.query.fence));
    const devices = devicesIn(d, from, to);
    return { devices, partitions: devices.map((id) => d.codec.partitionOf(id)), heat: devices.map((id) => d.heatOf(id)), ...(fenceWait === undefined ? {} : { fenceWait }) };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/cluster/v1/move/export', { onRequest: guard }, async (req, reply) => {
    const id = deviceParam(req.query.device);
    const after = typeof req.query.after === 'string' && /^([0-9a-f]{2}){1,64}$/.test(req.query.after) ? Buffer.from(req.query.after, 'hex') : undefined;
    const limit = Math.min(EXPORT_LIMIT, Math.max(1, Number(req.query.limit ?? EXPORT_LIMIT) || EXPORT_LIMIT));
    if (req.query.fence !== undefined) await awaitFence(d, drained, d.codec.partitionOf(id), Number(req.query.fence));
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
    const r = d.view.rangeOf(from);
    if (r.learner?.id !== d.self) throw new LmjError('MOVE_CONFLICT', `node ${d.self} is not the learner of range ${from}-${to}`, { details: { from } });
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
  const source = typeof body.source === 'string' && /^https?:\/\/[^/\s]+$/.test(body.source) ? body.source : undefined;
  if (source === undefined) throw new LmjError('BAD_REQUEST', 'source must be http(s)://host:port');
  const maxBytes = Math.max(1, Number(body.maxBytes) || 1 << 20);
  const fence = body.fence === undefined || body.fence === null ? undefined : Number(body.fence);
  const r = d.view.rangeOf(d.codec.partitionOf(id));
  if (r.learner?.id !== d.self) throw new LmjError('MOVE_CONFLICT', `node ${d.self} is not the learner of range ${r.from}-${r.to}`, { details: { from: r.from } });
  const answer: PullAnswer = { device: id, bytes: 0, readings: 0, more: true, count: 0, sourceCount: 0 };
  let full = false;
  while (answer.more && answer.bytes < maxBytes) {
    const state = await copyState(d.pool, id);
    const after = full ? undefined : state.last;
    // About `maxBytes` per export (a reading is ~100–300 bytes on the wire), so the driver's throttle stays smooth.
    const q = new URLSearchParams({ device: id, limit: String(Math.max(10, Math.min(EXPORT_LIMIT, Math.floor(maxBytes / 256)))) });
    if (after !== undefined) q.set('after', after.toString('hex'));
    if (fence !== undefined) q.set('fence', String(fence));
    const res = await request(`${source}/cluster/v1/move/export?${q}`, { dispatcher: agent, headers: d.clusterToken === undefined ? {} : { authorization: `Bearer ${d.clusterToken}` }, headersTimeout: 30_000, bodyTimeout: 30_000 }).catch((cause: unknown) => {
      const tls = tlsFailure(cause);
      if (tls !== undefined) {
        throw new LmjError('PEER_TLS', `node ${d.self}: TLS handshake with the source ${source} failed: ${tls}: ${(cause as Error).message} (check this node's --upstream-ca)`, { cause, details: { peer: source, reason: tls } });
      }
      throw new LmjError('NODE_UNAVAILABLE', `cannot reach the source ${source}: ${(cause as Error).message}`, { cause });
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) {
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(raw.toString('utf8')) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = undefined;
      }
      if (err?.code === 'NOT_FOUND') return { ...answer, more: false, count: state.count };
      throw new LmjError(err?.code === 'EPOCH_AHEAD' ? 'EPOCH_AHEAD' : 'MOVE_FAILED', `source ${source} answered ${res.statusCode}: ${err?.code ?? ''} ${err?.message ?? ''}`);
    }
    const { image, records } = decodeExport(raw, id, d.codec);
    answer.sourceCount = Number(res.headers['x-lmj-count'] ?? 0);
    answer.more = res.headers['x-lmj-more'] === '1';
    answer.bytes += raw.length;
    // Nothing new (an idle device, most of a final delta): no write transaction, no fsync.
    if (image !== null && (records.length > 0 || !(await hasImage(d.pool, id, image)))) {
      answer.readings += await applyCopy(d, id, image, records);
      answer.count = (await copyState(d.pool, id)).count;
    } else {
      answer.count = state.count;
    }
    // A reading older than the copy's last element (a late arrival) is not in an "after" delta: recopy from the start, idempotently.
    if (!answer.more && answer.count < answer.sourceCount && !full) {
      full = true;
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

async function applyCopy(d: MoveEndpointDeps, id: string, image: InstanceImage, records: ReadingRecord[]): Promise<number> {
  try {
    const { applied, entry } = await d.pool.use(
      id,
      (store) =>
        store.writeAsync((txn) => {
          applyImage(txn, image);
          const result = applyRecords(txn, id, records);
          const root = readRoot(txn);
          return { applied: result.applied, entry: { id, firstSeen: root?.firstSeen ?? 0, lastSeen: root?.lastSeen ?? 0, readings: root?.readingCount ?? 0 } };
        }),
      { create: true },
    );
    d.directory.registry.update([entry]);
    return applied;
  } catch (err) {
    if (isLmjError(err)) throw err;
    throw new LmjError('MOVE_FAILED', `copy of ${id} failed: ${(err as Error).message}`, { cause: err });
  }
}
