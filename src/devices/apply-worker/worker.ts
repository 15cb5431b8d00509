/**
 * Worker-thread entry of the device-apply worker (./client.ts). For each group it opens
 * the device's instance unless an earlier group left it open (the main thread's pool has
 * lent the device to this worker meanwhile, so nothing else in the process has it open:
 * see ./client.ts for why that is required), takes the group's flattened records as sent
 * and flattens its raw payloads (one codec call per format), applies them in one durable `writeAsync` with the same code as the
 * main-thread path (src/core/telemetry/apply-group.ts) and answers, keeping the instance
 * open for the device's next group. A close request, or a failed commit, closes it.
 * Requests for different devices run concurrently; the main thread never sends two for one
 * device at once.
 */
import { parentPort } from 'node:worker_threads';
import { getCodec } from '../../codec/index.js';
import type { Codec, PayloadFormat } from '../../codec/types.js';
import { cleanupCompaction } from '../../core/compact.js';
import { openStore } from '../../core/index.js';
import type { LmjStore } from '../../core/types.js';
import { applyWork, type ApplyInput } from '../../core/telemetry/apply-group.js';
import type { ApplyReply, ApplyRequest, WireOutcome, WorkerRequest } from './protocol.js';
import { unpackRecords } from './protocol.js';
import { toWire } from './wire-error.js';

const codec: Codec = getCodec();
/** Instances open in this thread, by directory: each one lent by its pool. */
const open = new Map<string, LmjStore>();

/**
 * The records' apply inputs: flattened ones as sent, raw payloads flattened here (one
 * codec call per format); refused ones get their error, the rest their input.
 */
function flattenAll(req: ApplyRequest): { inputs: ApplyInput[]; at: number[]; outcomes: WireOutcome[] } {
  const records = unpackRecords(req.records, req.count);
  const flat = new Array<ApplyInput | undefined>(records.length);
  const byFormat = new Map<PayloadFormat, number[]>();
  records.forEach((r, i) => {
    if ('flat' in r) {
      flat[i] = { kind: r.kind, flat: r.flat, identity: r.identity, receivedAt: r.receivedAt };
      return;
    }
    const list = byFormat.get(r.format);
    if (list === undefined) byFormat.set(r.format, [i]);
    else list.push(i);
  });
  const outcomes = new Array<WireOutcome>(records.length);
  for (const [format, idx] of byFormat) {
    const results = codec.flattenBatch(idx.map((i) => (records[i] as { payload: Buffer }).payload), format, req.flattenLimits);
    idx.forEach((i, k) => {
      const o = results[k];
      const r = records[i]!;
      if (o !== undefined && o.ok) flat[i] = { kind: r.kind, flat: o.flat, identity: r.identity, receivedAt: r.receivedAt };
      else outcomes[i] = { s: 'refused', error: o === undefined ? { code: 'INVALID_PARAM', message: 'codec returned no outcome' } : toWire(o.error) };
    });
  }
  const inputs: ApplyInput[] = [];
  const at: number[] = [];
  flat.forEach((input, i) => {
    if (input === undefined) return;
    inputs.push(input);
    at.push(i);
  });
  return { inputs, at, outcomes };
}

function storeFor(req: ApplyRequest): LmjStore {
  const kept = open.get(req.dir);
  if (kept !== undefined) return kept;
  // A compaction interrupted before its rename left its temporary copy behind (as the pool does at open).
  cleanupCompaction(req.dir);
  const store = openStore(req.dir, {
    durability: req.durability,
    codec,
    partition: codec.partitionOf(req.deviceId),
    ...(req.mapSize === undefined ? {} : { mapSize: req.mapSize }),
  });
  open.set(req.dir, store);
  return store;
}

async function closeDir(dir: string): Promise<void> {
  const store = open.get(dir);
  if (store === undefined) return;
  open.delete(dir);
  await store.close();
}

async function apply(req: ApplyRequest): Promise<ApplyReply> {
  const { inputs, at, outcomes } = flattenAll(req);
  // Nothing to write: the instance is not opened (nor created) for a group refused whole.
  if (inputs.length === 0) return { id: req.id, ok: true, outcomes, entry: null };
  try {
    const done = await storeFor(req).writeAsync((txn) => applyWork(txn, req.deviceId, inputs));
    done.outcomes.forEach((o, k) => {
      outcomes[at[k]!] = o === null ? { s: 'meta' } : o.status === 'duplicate' ? { s: 'duplicate', ptr: o.ptr.toString('hex') } : { s: 'stored', ptr: o.ptr.toString('hex'), ts: o.ts };
    });
    return { id: req.id, ok: true, outcomes, entry: done.entry };
  } catch (err) {
    // Closed before the answer: the main thread ends the loan and may reopen the instance (or invalidate it).
    await closeDir(req.dir).catch(() => undefined);
    throw err;
  }
}

function handle(req: WorkerRequest): Promise<ApplyReply> {
  if (req.type === 'close') return closeDir(req.dir).then(() => ({ id: req.id, ok: true, closed: true }));
  return apply(req);
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req).then(
    (reply) => parentPort?.postMessage(reply),
    (err: unknown) => parentPort?.postMessage({ id: req.id, ok: false, error: toWire(err) } satisfies ApplyReply),
  );
});
