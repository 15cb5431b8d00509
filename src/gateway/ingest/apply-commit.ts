/**
 * One durable device commit of the journal's applier (./apply-queue.ts), on the main
 * thread (the pool's instance, `writeAsync`) or in the device-apply worker
 * (src/devices/apply-worker/, `ingest.applyWorker`). Both write the same bytes
 * (src/core/telemetry/apply-group.ts) and answer the same way: per item its result, or
 * the items refused at the flatten (only possible in the worker, which flattens the
 * journaled payloads itself; the main thread flattened them before the ack).
 */
import type { ApplyTarget, ApplyWorker } from '../../devices/apply-worker/index.js';
import { fromWire } from '../../devices/apply-worker/index.js';
import type { LmjError } from '../../errors.js';
import type { DeferredInput } from './apply-deferred.js';
import type { ApplyItem } from './apply-queue.js';
import { applyWork, resultOf, type ApplyInput, type CommitContext } from './commit.js';
import type { IngestResult } from './types.js';

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

/** The worker commit: the journaled payloads go to the worker, which flattens, applies and commits them. */
export async function commitInWorker(ctx: CommitContext, via: { worker: ApplyWorker; target: ApplyTarget }, deviceId: string, items: readonly ApplyItem[]): Promise<DeviceCommitDone> {
  const done = await via.worker.apply(
    via.target,
    deviceId,
    items.map((it) => {
      const input = it.input as ApplyInput | DeferredInput;
      return { kind: input.kind, format: it.format ?? 'auto', receivedAt: input.receivedAt, identity: input.identity, payload: it.msg.payload };
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
