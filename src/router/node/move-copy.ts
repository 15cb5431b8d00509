/**
 * What a data node's move endpoints share (docs/cluster.md, Moves): a device's copy state,
 * the range's devices on disk, the wait for a move's fence on the source, the target's
 * requests to the source, and the target's apply of an image and its records (one write
 * transaction per device).
 */
import type { Agent } from 'undici';
import { request } from 'undici';
import type { TableView } from '../../cluster/index.js';
import type { Codec } from '../../codec/types.js';
import { applyImage, exportImage, sameImage, type InstanceImage } from '../../core/telemetry/instance-image.js';
import { applyRecords } from '../../core/telemetry/records.js';
import type { ReadingRecord } from '../../core/telemetry/types.js';
import { readRoot } from '../../core/telemetry/root.js';
import { deviceIdsOnDisk } from '../../devices/layout.js';
import type { DevicePool } from '../../devices/pool/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import { tlsFailure } from '../../http/tls-failure.js';
import type { PeerTls } from '../../http/tls-listener.js';
import type { DeviceDirectory } from '../directory.js';
import type { WriteGate } from './write-gate.js';

/** Records per device and export. */
export const EXPORT_LIMIT = 1000;
/** The gateway id export batches carry (decodeBatch checks it on the target). */
export const MOVE_GATEWAY = 'lmj-move';
/** How long the source waits for its table to show a move's fence, ms. */
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

/** A device's copy state on this node: its readings and its last element. */
export interface CopyState {
  count: number;
  last: Buffer | undefined;
}

/** The readings and last element of this node's copy of `id` (0 and none without one). */
export async function copyState(pool: DevicePool, id: string): Promise<CopyState> {
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
export async function hasImage(pool: DevicePool, id: string, image: InstanceImage): Promise<boolean> {
  if (!pool.exists(id)) return false;
  const own = await pool.use(id, (store) => store.read((txn) => exportImage(txn)));
  return own !== null && sameImage(own, image);
}

/** FROM/TO of a request: partitions 0..65535 with from ≤ to; BAD_REQUEST otherwise. */
export function partitionBounds(q: Record<string, unknown>): { from: number; to: number } {
  const from = Number(q.from);
  const to = Number(q.to);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || to < from) throw new LmjError('BAD_REQUEST', 'from/to must be partitions 0..65535 with from ≤ to');
  return { from, to };
}

/** A source origin named in a request: `http(s)://host:port`; BAD_REQUEST otherwise. */
export function sourceOrigin(v: unknown): string {
  if (typeof v !== 'string' || !/^https?:\/\/[^/\s]+$/.test(v)) throw new LmjError('BAD_REQUEST', 'source must be http(s)://host:port');
  return v;
}

/** Devices of a partition range held on this node's disk, sorted. */
export function devicesIn(d: MoveEndpointDeps, from: number, to: number): string[] {
  return deviceIdsOnDisk(d.dataDir)
    .filter((id) => {
      const p = d.codec.partitionOf(id);
      return p >= from && p <= to;
    })
    .sort();
}

/** MOVE_CONFLICT unless this node is the learner of the range holding `partition`. */
export function assertLearner(d: MoveEndpointDeps, partition: number): void {
  const r = d.view.rangeOf(partition);
  if (r.learner?.id !== d.self) throw new LmjError('MOVE_CONFLICT', `node ${d.self} is not the learner of range ${r.from}-${r.to}`, { details: { from: r.from } });
}

/**
 * Source: waits until this node's table shows the fence `fence` set on the range of
 * `partition` (that epoch fenced, or a later epoch: the fence came and went), then, once
 * per fence, for every apply in flight. After that nothing more is written to the range
 * here. A request sent before the fence's transaction commits waits here for it; an epoch
 * the fence did not set (another change) does not end the wait.
 */
export async function awaitFence(d: MoveEndpointDeps, drained: Set<string>, partition: number, fence: number): Promise<{ viewMs: number; drainMs: number }> {
  if (!Number.isSafeInteger(fence) || fence < 1) throw new LmjError('BAD_REQUEST', 'fence must be an epoch ≥ 1');
  const t0 = performance.now();
  const shown = (r: { epoch: number; fenced: boolean } | undefined): boolean => r !== undefined && (r.epoch > fence || (r.epoch === fence && r.fenced));
  await d.view.waitFor((v) => shown(v.tryCurrent()?.rangeOf(partition)), FENCE_WAIT_MS).catch(() => {
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

/**
 * Target → source: one request; the answer's status, headers and body. NODE_UNAVAILABLE
 * when the source cannot be reached, PEER_TLS when its certificate does not verify, and
 * for a refusal EPOCH_AHEAD (the source's table is behind the fence) or MOVE_FAILED —
 * except NOT_FOUND, which the caller gets as status 404.
 */
export async function askSource(
  d: MoveEndpointDeps,
  agent: Agent,
  source: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; raw: Buffer }> {
  const headers: Record<string, string> = d.clusterToken === undefined ? {} : { authorization: `Bearer ${d.clusterToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${source}${path}`, {
    dispatcher: agent,
    method: body === undefined ? 'GET' : 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  }).catch((cause: unknown) => {
    const tls = tlsFailure(cause);
    if (tls !== undefined) {
      throw new LmjError('PEER_TLS', `node ${d.self}: TLS handshake with the source ${source} failed: ${tls}: ${(cause as Error).message} (check this node's --upstream-ca)`, { cause, details: { peer: source, reason: tls } });
    }
    throw new LmjError('NODE_UNAVAILABLE', `cannot reach the source ${source}: ${(cause as Error).message}`, { cause });
  });
  const raw = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode === 200) return { status: 200, headers: res.headers, raw };
  let err: { code?: string; message?: string } | undefined;
  try {
    err = (JSON.parse(raw.toString('utf8')) as { error?: { code?: string; message?: string } }).error;
  } catch {
    err = undefined;
  }
  if (err?.code === 'NOT_FOUND') return { status: 404, headers: res.headers, raw };
  throw new LmjError(err?.code === 'EPOCH_AHEAD' ? 'EPOCH_AHEAD' : 'MOVE_FAILED', `source ${source} answered ${res.statusCode}: ${err?.code ?? ''} ${err?.message ?? ''}`);
}

/** Target: applies the source's image and records to this node's copy of `id` in one write transaction; the readings applied. */
export async function applyCopy(d: MoveEndpointDeps, id: string, image: InstanceImage, records: ReadingRecord[]): Promise<number> {
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

/**
 * Target: brings the copy of `id` up to the source's `image` and `records`, writing only
 * when there is something new (an idle device: no write transaction, no fsync). Returns
 * the readings applied and the copy's count after.
 */
export async function applyIfNew(d: MoveEndpointDeps, id: string, image: InstanceImage | null, records: ReadingRecord[], before: number): Promise<{ applied: number; count: number }> {
  if (image === null || (records.length === 0 && (await hasImage(d.pool, id, image)))) return { applied: 0, count: before };
  const applied = await applyCopy(d, id, image, records);
  return { applied, count: (await copyState(d.pool, id)).count };
}
