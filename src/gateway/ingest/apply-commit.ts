/**
 * One durable device commit of the journal's applier (./apply-queue.ts), with its
 * outcome sorted (results reported, refused items returned, a message-level error split
 * down to the message, a full disk or a lost worker returned for a retry), on the main
 * thread (the pool's instance, `writeAsync`) or in the device-apply worker
 * (src/devices/apply-worker/, `ingest.applyWorker`). Both write the same bytes
 * (src/core/telemetry/apply-group.ts) and answer the same way: per item its result, or
 * the items refused at the flatten (only possible in the worker, which flattens the
 * payloads of deferred items itself; the main thread flattened the others before the ack).
 */
import { performance } from 'node:perf_hooks';
import type { ApplyTarget, ApplyWorker, GroupRecord } from '../../devices/apply-worker/index.js';
import { fromWire } from '../../devices/apply-worker/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import type { DeferredInput } from './apply-deferred.js';
import type { ApplyItem } from './apply-queue.js';
import { MESSAGE_CODES, applyWork, asDeviceError, resultOf, type ApplyInput, type CommitContext } from './commit.js';
import type { CommitBatchInfo, IngestResult } from './types.js';

/** What one device commit did: a result per item (in order) or, for an item refused at the flatten, its error. */
export interface DeviceCommitDone {
  results: (IngestResult | LmjError)[];
}

/** The main-thread commit: the pool's instance, one `writeAsync` (items flattened already). */
export async function commitOnMain(ctx: CommitContext, deviceId: string, items: readonly ApplyItem[]): Promise<DeviceCommitDone> {
  const inputs = items.map((it) => it.input as ApplyInput);
  const done = await ctx.pool.use(deviceId, (store) => store.writeAsync((txn) => applyWork(txn, deviceId, inputs)), { create: true });
  ctx.registry.update([done.entry]);
  return { results: items.map((_, i) => resultOf(deviceId, done.outcomes[i] ?? null, done.entry.readings)) };
}

/** The worker commit: the flattened messages (a deferred one as its payload) go to the worker, which applies and commits them. */
export async function commitInWorker(ctx: CommitContext, via: { worker: ApplyWorker; target: ApplyTarget }, deviceId: string, items: readonly ApplyItem[]): Promise<DeviceCommitDone> {
  const done = await via.worker.apply(
    via.target,
    deviceId,
    items.map((it): GroupRecord => {
      const input = it.input as ApplyInput | DeferredInput;
      // Flattened before the ack: sent as it is, not flattened again. A deferred one goes as its payload.
      return 'flat' in input
        ? { kind: input.kind, receivedAt: input.receivedAt, identity: input.identity, flat: input.flat }
        : { kind: input.kind, receivedAt: input.receivedAt, identity: input.identity, format: input.format, payload: input.payload };
    }),
  );
  if (done.entry !== null) ctx.registry.update([done.entry]);
  const readings = done.entry?.readings ?? 0;
  return {
    results: done.outcomes.map((o) => {
      if (o.s === 'refused') return fromWire(o.error);
      if (o.s === 'meta') return { status: 'meta', deviceId };
      if (o.s === 'duplicate') return { status: 'duplicate', deviceId, ptr: o.ptr };
      return { status: 'stored', deviceId, ptr: o.ptr, ts: o.ts, readings };
    }),
  };
}

/** What {@link commitItems} reports each commit and result to (the applier's options). */
export interface CommitReport {
  onResult(result: IngestResult, msg: ApplyItem['msg']): void;
  onLag(ms: number): void;
  onCommit(info: CommitBatchInfo): void;
}

/** An item that failed for good, with its error (dead-lettered by the applier). */
export interface FailedItem {
  item: ApplyItem;
  error: LmjError;
}

/**
 * One durable device commit of `items` (on this thread, or in the apply worker); returns
 * the items that failed for good, 'retry-later' when the pipeline is shutting down (the
 * journal replays them at start), 'disk-full' (tried again once there is space) or
 * 'worker-lost' (the apply worker ended first; tried again in a new one).
 */
export async function commitItems(ctx: CommitContext, report: CommitReport, deviceId: string, items: readonly ApplyItem[]): Promise<FailedItem[] | 'retry-later' | 'disk-full' | 'worker-lost'> {
  if (items.length === 0) return [];
  try {
    const worker = ctx.applyWorker;
    const done = worker === undefined ? await commitOnMain(ctx, deviceId, items) : await commitInWorker(ctx, worker, deviceId, items);
    const now = performance.now();
    const first = items.reduce((m, it) => Math.min(m, it.acceptedAt ?? now), now);
    report.onCommit({ devices: 1, messages: items.length, latencyMs: now - first });
    const refused: FailedItem[] = [];
    items.forEach((it, i) => {
      const r = done.results[i];
      if (r instanceof LmjError) return void refused.push({ item: it, error: r });
      if (it.acceptedAt !== undefined) report.onLag(now - it.acceptedAt);
      if (r !== undefined) report.onResult(r, it.msg);
    });
    return refused;
  } catch (err) {
    if (isLmjError(err) && MESSAGE_CODES.has(err.code)) {
      if (items.length === 1) return [{ item: items[0] as ApplyItem, error: err }];
      // One message broke the group: apply each on its own so only that one fails.
      const failed: FailedItem[] = [];
      for (const it of items) {
        const r = await commitItems(ctx, report, deviceId, [it]);
        if (typeof r === 'string') return r;
        failed.push(...r);
      }
      return failed;
    }
    if (isLmjError(err, 'APPLY_WORKER_LOST')) {
      ctx.onError(err, (items[0] as ApplyItem).msg, deviceId);
      return 'worker-lost';
    }
    const error = asDeviceError(err, deviceId);
    // Acked already and durable in the journal: a full disk or a shutdown is the gateway's
    // state, not the message's. The records stay unapplied: tried again when there is
    // space, or replayed at the next start.
    if (error.code === 'DISK_FULL') {
      // Reported (the daemon's disk guard pauses ingest on it), not dead-lettered.
      ctx.onError(error, (items[0] as ApplyItem).msg, deviceId);
      return 'disk-full';
    }
    if (error.code === 'SHUTTING_DOWN') return 'retry-later';
    ctx.pool.invalidate(deviceId, error);
    return items.map((item) => ({ item, error }));
  }
}
