/**
 * The two halves of a commit: `prepareBatch` validates messages and flattens all
 * payloads in ONE codec call, split by device; `commitDeviceWork` commits one device's
 * part with `writeAsync` and resolves each message once that commit is durable.
 * Rejections are dead-lettered durably before they are resolved. One bad message or
 * one broken device never affects the others.
 */
import type { Codec, Flattened, FlattenLimits } from '../../codec/types.js';
import { applyWork, type ApplyInput } from '../../core/telemetry/apply-group.js';
import { messageIdentity } from '../../core/telemetry/identity.js';
import type { ApplyOutcome } from '../../core/telemetry/types.js';
import { LmjError, isLmjError, type ErrorCode } from '../../errors.js';
import { isDiskError } from '../disk-guard.js';
import type { DeadLetterStore, NewDeadLetter } from '../dead-letters.js';
import type { ApplyTarget, ApplyWorker } from '../../devices/apply-worker/index.js';
import type { DevicePool } from '../../devices/pool/types.js';
import type { TopicParser } from '../topics.js';
import type { DeviceListEntry, DeviceRegistry } from '../../devices/registry.js';
import type { InboundMessage, IngestResult } from './types.js';

export { applyWork, type ApplyInput };

/** A submitted message waiting for its group commit. */
export interface Pending {
  msg: InboundMessage;
  receivedAt: number;
  /** performance.now() at submit, for commit latency. */
  submittedAt: number;
  resolve(result: IngestResult): void;
}

/** What a commit group needs. */
export interface CommitContext {
  codec: Codec;
  topics: TopicParser;
  pool: DevicePool;
  deadLetters: DeadLetterStore;
  registry: DeviceRegistry;
  maxPayloadBytes: number;
  flattenLimits: Partial<FlattenLimits>;
  /** Reports a rejection or failure (logs/metrics); never throws. */
  onError(err: LmjError, msg: InboundMessage, deviceId?: string): void;
  onDeadLettersDropped(count: number): void;
  /** Journal on and `ingest.applyWorker`: the journal's device commits run in this worker thread, for this target. */
  applyWorker?: { worker: ApplyWorker; target: ApplyTarget };
}

/** One valid message, flattened, waiting for its device's commit. */
export interface Work {
  pending: Pending;
  kind: 'telemetry' | 'meta';
  flat: Flattened;
  identity: Buffer;
}

/** A message rejected with the error to dead-letter. */
export interface Reject {
  pending: Pending;
  error: LmjError;
  deviceId?: string;
}

/** Codes that describe the message, not the device's storage. */
export const MESSAGE_CODES = new Set<ErrorCode>([
  'BAD_JSON', 'BAD_CBOR', 'NOT_AN_OBJECT', 'TOO_DEEP', 'TOO_MANY_FIELDS', 'PATH_TOO_LONG', 'NON_FINITE',
  'EMPTY_KEY', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_VALUE', 'INTEGER_OUT_OF_RANGE', 'MEMBER_TOO_LONG', 'INVALID_PARAM',
]);

/** A storage failure as the device-level rejection (DEVICE_UNAVAILABLE; SHUTTING_DOWN and DISK_FULL kept). */
export function asDeviceError(err: unknown, deviceId: string): LmjError {
  if (isLmjError(err) && (err.code === 'DEVICE_UNAVAILABLE' || err.code === 'SHUTTING_DOWN' || err.code === 'DISK_FULL')) return err;
  // Out of space (or a failed commit): the gateway's fault, not the device's — retried, never acked.
  if (isDiskError(err)) return new LmjError('DISK_FULL', `device ${deviceId}: commit failed, disk full or failing: ${(err as Error).message}`, { cause: err });
  return new LmjError('DEVICE_UNAVAILABLE', `device ${deviceId} cannot store data: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    details: { deviceId, reason: isLmjError(err) ? err.code : 'STORE_ERROR' },
  });
}

/** The final result of one applied message; `readings`: the device's reading count after its commit. */
export function resultOf(deviceId: string, outcome: ApplyOutcome | null, readings: number): IngestResult {
  if (outcome === null) return { status: 'meta', deviceId };
  if (outcome.status === 'duplicate') return { status: 'duplicate', deviceId, ptr: outcome.ptr.toString('hex') };
  return { status: 'stored', deviceId, ptr: outcome.ptr.toString('hex'), ts: outcome.ts, readings };
}

const inputOf = (w: Work): ApplyInput => ({ kind: w.kind, flat: w.flat, identity: w.identity, receivedAt: w.pending.receivedAt });

async function commitOnce(ctx: CommitContext, deviceId: string, work: readonly Work[]): Promise<DeviceListEntry> {
  const done = await ctx.pool.use(deviceId, (store) => store.writeAsync((txn) => applyWork(txn, deviceId, work.map(inputOf))), { create: true });
  // Queue the registry update before resolving: listDevices (which settles queued
  // updates) right after a resolved submit must see it, whatever the microtask order.
  ctx.registry.update([done.entry]);
  work.forEach((w, i) => w.pending.resolve(resultOf(deviceId, done.outcomes[i] ?? null, done.entry.readings)));
  return done.entry;
}

/** Commits one device's part; failures become rejections (returned), never throws. */
async function commitDevice(ctx: CommitContext, deviceId: string, work: readonly Work[], entries: DeviceListEntry[]): Promise<Reject[]> {
  try {
    entries.push(await commitOnce(ctx, deviceId, work));
    return [];
  } catch (err) {
    const messageLevel = isLmjError(err) && MESSAGE_CODES.has(err.code);
    if (!messageLevel) {
      const error = asDeviceError(err, deviceId);
      if (error.code === 'DEVICE_UNAVAILABLE') ctx.pool.invalidate(deviceId, error);
      return work.map((w) => ({ pending: w.pending, error, deviceId }));
    }
    if (work.length === 1) return [{ pending: (work[0] as Work).pending, error: err as LmjError, deviceId }];
    // One message broke the group: commit each on its own so only that one is rejected.
    const rejects: Reject[] = [];
    for (const w of work) {
      try {
        entries.push(await commitOnce(ctx, deviceId, [w]));
      } catch (e) {
        const error = isLmjError(e) && MESSAGE_CODES.has(e.code) ? e : asDeviceError(e, deviceId);
        rejects.push({ pending: w.pending, error, deviceId });
      }
    }
    return rejects;
  }
}

/** Writes dead letters durably, then resolves the rejected messages; never throws. */
export async function rejectAll(ctx: CommitContext, rejects: readonly Reject[]): Promise<void> {
  if (rejects.length === 0) return;
  const at = Date.now();
  // DISK_FULL messages are not acked and come again: nothing to record.
  const letters: NewDeadLetter[] = rejects.filter((r) => r.error.code !== 'DISK_FULL').map(({ pending: { msg }, error, deviceId }) => ({
    at,
    topic: String(msg.topic).slice(0, 1024),
    code: error.code,
    message: error.message,
    qos: msg.qos,
    payload: Buffer.from(msg.payload),
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(msg.clientId === undefined ? {} : { clientId: msg.clientId }),
  }));
  try {
    const dropped = letters.length === 0 ? 0 : await ctx.deadLetters.add(letters);
    if (dropped > 0) ctx.onDeadLettersDropped(dropped);
  } catch (err) {
    // The rejection stands even if it could not be recorded; report the storage failure.
    const e = isLmjError(err) ? err : new LmjError('STORE_IO', `dead-letter write failed: ${(err as Error).message}`, { cause: err });
    for (const r of rejects) ctx.onError(e, r.pending.msg, r.deviceId);
  }
  for (const r of rejects) {
    ctx.onError(r.error, r.pending.msg, r.deviceId);
    r.pending.resolve({
      status: 'rejected',
      code: r.error.code,
      message: r.error.message,
      ...(r.deviceId === undefined ? {} : { deviceId: r.deviceId }),
    });
  }
}

/** A prepared batch: messages rejected before storage, and each device's work in order. */
export interface Prepared {
  early: Reject[];
  byDevice: Map<string, Work[]>;
}

/** Validates a batch and flattens all its payloads in ONE codec call; stores nothing. */
export function prepareBatch(ctx: CommitContext, batch: readonly Pending[]): Prepared {
  const early: Reject[] = [];
  const valid: { pending: Pending; kind: 'telemetry' | 'meta'; deviceId: string }[] = [];
  for (const pending of batch) {
    const { msg } = pending;
    let deviceId: string | undefined;
    try {
      const parsed = ctx.topics.parse(msg.topic);
      deviceId = parsed.deviceId;
      // Refused by the front end (the ACL): dead-lettered under the topic's device id,
      // never touching that device's store.
      if (msg.refused !== undefined) throw new LmjError(msg.refused.code, msg.refused.message);
      if (!Buffer.isBuffer(msg.payload)) throw new LmjError('BAD_REQUEST', 'payload must be a Buffer');
      if (msg.payload.length > ctx.maxPayloadBytes) {
        throw new LmjError('PAYLOAD_TOO_LARGE', `payload of ${msg.payload.length} bytes exceeds ${ctx.maxPayloadBytes}`, {
          details: { size: msg.payload.length, limit: ctx.maxPayloadBytes },
        });
      }
      valid.push({ pending, kind: parsed.kind, deviceId });
    } catch (err) {
      const error = isLmjError(err) ? err : new LmjError('BAD_REQUEST', String(err));
      early.push(deviceId === undefined ? { pending, error } : { pending, error, deviceId });
    }
  }
  const payloads = new Array<Buffer>(valid.length);
  for (let i = 0; i < valid.length; i++) payloads[i] = valid[i]!.pending.msg.payload;
  const outcomes = ctx.codec.flattenBatch(payloads, 'auto', ctx.flattenLimits);
  const byDevice = new Map<string, Work[]>();
  for (let i = 0; i < valid.length; i++) {
    const v = valid[i]!;
    const outcome = outcomes[i];
    if (outcome === undefined || !outcome.ok) {
      const error = outcome?.error ?? new LmjError('INVALID_PARAM', 'codec returned no outcome');
      early.push({ pending: v.pending, error, deviceId: v.deviceId });
      continue;
    }
    let work = byDevice.get(v.deviceId);
    if (work === undefined) byDevice.set(v.deviceId, (work = []));
    work.push({ pending: v.pending, kind: v.kind, flat: outcome.flat, identity: messageIdentity(v.pending.msg.payload) });
  }
  return { early, byDevice };
}

/**
 * Commits one device's work (one write transaction), resolves its messages, updates
 * the registry and dead-letters the failures. Never throws.
 */
export async function commitDeviceWork(ctx: CommitContext, deviceId: string, work: readonly Work[]): Promise<void> {
  const entries: DeviceListEntry[] = [];
  const late = await commitDevice(ctx, deviceId, work, entries);
  await rejectAll(ctx, late);
}
