/**
 * A move's final delta, one call for the whole range (docs/cluster.md, Moves, step 4).
 * The driver calls the target once (`POST /cluster/v1/move/final`); the target sends the
 * source, in one request, the last element of each of its copies of the range
 * (`POST /cluster/v1/move/delta`); the source waits for the fence and the writes in
 * flight, then answers every device of the range after those elements (and the devices
 * the target has not seen, from their first one) in one CBOR answer. The target applies
 * them (up to 8 devices at once, one write transaction each, none for a device with
 * nothing new) and checks every device's count against the source's. A device with more
 * than one answer holds, or with a late reading (one older than the copy's last
 * element), is asked for again, and only those devices are.
 *
 * POST /cluster/v1/move/delta {from, to, fence, after: {device: hex}, only?: [device]}
 *   source → CBOR {d: [{id, i: image, n: count, m: more}], b: batch | null, w: {viewMs, drainMs}}
 * POST /cluster/v1/move/final {move, source, from, to, fence}
 *   target → {devices, bytes, readings, rounds, fenceWait: {viewMs, drainMs}}
 */
import type { FastifyInstance } from 'fastify';
import type { Agent } from 'undici';
import { Encoder, decode } from 'cbor-x';
import { checkImage, exportImage, type InstanceImage } from '../../core/telemetry/instance-image.js';
import { exportRecords } from '../../core/telemetry/records.js';
import type { ReadingRecord } from '../../core/telemetry/types.js';
import { readRoot } from '../../core/telemetry/root.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { decodeBatch, encodeBatch, type DeviceRecords } from '../../sync/batch.js';
import { EXPORT_LIMIT, MOVE_GATEWAY, applyIfNew, askSource, assertLearner, awaitFence, copyState, devicesIn, partitionBounds, sourceOrigin, type MoveEndpointDeps } from './move-copy.js';

/** Records of all devices together in one delta answer (a device's share is at most EXPORT_LIMIT). */
const DELTA_RECORDS = 10_000;
/** Devices the target applies at once. */
const APPLY_IN_FLIGHT = 8;
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });

/** One device in a delta answer: its image, its readings on the source, and whether more records follow. */
interface DeltaDevice {
  id: string;
  i: InstanceImage | null;
  n: number;
  m: boolean;
}

/** What the final call answers the driver. */
export interface FinalAnswer {
  /** Devices of the range on the source, all complete on the target. */
  devices: number;
  bytes: number;
  readings: number;
  /** Delta requests to the source (1 unless a device needed more). */
  rounds: number;
  /** The source's wait for its table to show the fence, and for the writes in flight, ms (first request). */
  fenceWait: { viewMs: number; drainMs: number };
}

function deviceList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((id) => typeof id !== 'string' || !isValidDeviceId(id))) throw new LmjError('BAD_REQUEST', `${field} must list device ids`);
  return v as string[];
}

function afterMap(v: unknown): Map<string, Buffer> {
  if (v === undefined || v === null) return new Map();
  if (typeof v !== 'object' || Array.isArray(v)) throw new LmjError('BAD_REQUEST', 'after must map device ids to hex elements');
  const out = new Map<string, Buffer>();
  for (const [id, hex] of Object.entries(v as Record<string, unknown>)) {
    if (!isValidDeviceId(id) || typeof hex !== 'string' || !/^([0-9a-f]{2}){1,64}$/.test(hex)) throw new LmjError('BAD_REQUEST', 'after must map device ids to hex elements');
    out.set(id, Buffer.from(hex, 'hex'));
  }
  return out;
}

/** Source: after the fence, the records of the range's devices after the target's elements, in one answer. */
async function delta(d: MoveEndpointDeps, drained: Set<string>, body: Record<string, unknown>): Promise<Buffer> {
  const { from, to } = partitionBounds(body);
  const after = afterMap(body.after);
  const only = body.only === undefined ? undefined : new Set(deviceList(body.only, 'only'));
  // After the fence and the writes in flight: a device one of those writes created is listed too.
  const fenceWait = await awaitFence(d, drained, from, Number(body.fence));
  const devices: DeltaDevice[] = [];
  const parts: DeviceRecords[] = [];
  let budget = DELTA_RECORDS;
  for (const id of devicesIn(d, from, to)) {
    if (only !== undefined && !only.has(id)) continue;
    const limit = Math.min(EXPORT_LIMIT, budget);
    if (limit === 0) {
      devices.push({ id, i: null, n: 0, m: true });
      continue;
    }
    // Image, records and count from one read transaction: a consistent cut of the instance.
    const cut = await d.pool.use(id, (store) => store.read((txn) => ({ records: exportRecords(txn, after.get(id), limit), n: readRoot(txn)?.readingCount ?? 0, i: exportImage(txn) })));
    budget -= cut.records.length;
    devices.push({ id, i: cut.i, n: cut.n, m: cut.records.length === limit });
    if (cut.records.length > 0) parts.push({ deviceId: id, records: cut.records });
  }
  return encoder.encode({ d: devices, b: parts.length === 0 ? null : encodeBatch({ gatewayId: MOVE_GATEWAY, seq: 0, devices: parts }), w: fenceWait });
}

/** A delta answer, validated: the devices, each device's records, and the source's fence wait. Throws BAD_BATCH. */
function decodeDelta(raw: Buffer, d: MoveEndpointDeps, from: number, to: number): { devices: DeltaDevice[]; records: Map<string, ReadingRecord[]>; wait: { viewMs: number; drainMs: number } } {
  let top: { d?: unknown; b?: unknown; w?: unknown } | null;
  try {
    top = decode(raw) as typeof top;
  } catch (cause) {
    throw new LmjError('BAD_BATCH', `move delta is not CBOR: ${(cause as Error).message}`, { cause });
  }
  if (top === null || typeof top !== 'object' || !Array.isArray(top.d)) throw new LmjError('BAD_BATCH', 'move delta must be a CBOR map with d: [devices]');
  const devices = (top.d as unknown[]).map((x): DeltaDevice => {
    const o = x as Partial<Record<keyof DeltaDevice, unknown>> | null;
    if (o === null || typeof o !== 'object' || typeof o.id !== 'string' || !isValidDeviceId(o.id) || typeof o.n !== 'number' || !Number.isSafeInteger(o.n) || o.n < 0 || typeof o.m !== 'boolean') {
      throw new LmjError('BAD_BATCH', 'a move delta device must be {id, i, n, m}');
    }
    const p = d.codec.partitionOf(o.id);
    if (p < from || p > to) throw new LmjError('BAD_BATCH', `move delta names ${o.id}, outside range ${from}-${to}`);
    return { id: o.id, i: o.i === null || o.i === undefined ? null : checkImage(o.i, o.id), n: o.n, m: o.m };
  });
  const records = new Map<string, ReadingRecord[]>();
  if (top.b instanceof Uint8Array) {
    for (const part of decodeBatch(top.b, { isValidDeviceId, gatewayId: MOVE_GATEWAY, codec: d.codec }).devices) {
      if (devices.find((x) => x.id === part.deviceId)?.i == null) throw new LmjError('BAD_BATCH', `move delta has records of ${part.deviceId} but no image`);
      records.set(part.deviceId, part.records);
    }
  }
  const w = top.w as { viewMs?: unknown; drainMs?: unknown } | undefined;
  return { devices, records, wait: { viewMs: typeof w?.viewMs === 'number' ? w.viewMs : 0, drainMs: typeof w?.drainMs === 'number' ? w.drainMs : 0 } };
}

/** Runs `fn` over `items`, `n` at once. */
async function eachLimited<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Target: the final delta of the whole range from the source, every device checked (target count = source count, else MOVE_FAILED). */
async function final(d: MoveEndpointDeps, agent: Agent, body: Record<string, unknown>): Promise<FinalAnswer> {
  const { from, to } = partitionBounds(body);
  const source = sourceOrigin(body.source);
  const fence = Number(body.fence);
  assertLearner(d, from);
  const answer: FinalAnswer = { devices: 0, bytes: 0, readings: 0, rounds: 0, fenceWait: { viewMs: 0, drainMs: 0 } };
  // Where each device's next answer starts: the copy's last element, then the last element received.
  const after = new Map<string, Buffer | undefined>();
  for (const id of devicesIn(d, from, to)) after.set(id, (await copyState(d.pool, id)).last);
  // Devices copied again from their first element (a late reading); each at most once.
  const full = new Set<string>();
  let only: string[] | undefined;
  while (only === undefined || only.length > 0) {
    const hex = Object.fromEntries([...after].filter(([id, el]) => el !== undefined && (only === undefined || only.includes(id))).map(([id, el]) => [id, (el as Buffer).toString('hex')]));
    const res = await askSource(d, agent, source, '/cluster/v1/move/delta', { from, to, fence, after: hex, ...(only === undefined ? {} : { only }) });
    if (res.status === 404) throw new LmjError('MOVE_FAILED', `source ${source} does not answer the final delta (404)`);
    const got = decodeDelta(res.raw, d, from, to);
    if (answer.rounds === 0) {
      answer.devices = got.devices.length;
      answer.fenceWait = got.wait;
    }
    answer.rounds++;
    answer.bytes += res.raw.length;
    const again: string[] = [];
    await eachLimited(got.devices, APPLY_IN_FLIGHT, async (dev) => {
      const records = got.records.get(dev.id) ?? [];
      const applied = await applyIfNew(d, dev.id, dev.i, records, (await copyState(d.pool, dev.id)).count);
      answer.readings += applied.applied;
      if (records.length > 0) after.set(dev.id, records[records.length - 1]?.element);
      if (dev.m) {
        again.push(dev.id);
      } else if (applied.count < dev.n && !full.has(dev.id)) {
        // Not in an "after" delta: the source's records from the first, applied idempotently.
        full.add(dev.id);
        after.set(dev.id, undefined);
        again.push(dev.id);
      } else if (applied.count !== dev.n) {
        throw new LmjError('MOVE_FAILED', `${dev.id} has ${applied.count} readings on ${d.self}, ${dev.n} on the source after the final delta`, { details: { device: dev.id } });
      }
    });
    only = again.sort();
  }
  return answer;
}

/** Registers the source's `delta` and the target's `final` endpoints. */
export function registerFinalDelta(app: FastifyInstance, d: MoveEndpointDeps, agent: Agent, guard: (req: { headers: Record<string, unknown> }) => Promise<void>): void {
  // Fences (range start and epoch) whose in-flight applies were drained already.
  const drained = new Set<string>();
  app.post<{ Body: Record<string, unknown> }>('/cluster/v1/move/delta', { onRequest: guard }, async (req, reply) => {
    const out = await delta(d, drained, req.body ?? {});
    return reply.header('content-type', 'application/cbor').send(out);
  });
  app.post<{ Body: Record<string, unknown> }>('/cluster/v1/move/final', { onRequest: guard }, async (req) => final(d, agent, req.body ?? {}));
}
