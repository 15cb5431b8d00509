/**
 * Worker-thread entry of the device-apply worker (./client.ts). For each request it
 * opens the device's instance (the main thread's pool holds the device exclusively
 * meanwhile, so nothing else in the process has it open: see ./client.ts for why that is
 * required), flattens the group's payloads (one codec call per format), applies them in
 * one durable `writeAsync` with the same code as the main-thread path
 * (src/core/telemetry/apply-group.ts), closes the instance and answers. Requests for
 * different devices run concurrently; the main thread never sends two for one device.
 */
import { parentPort } from 'node:worker_threads';
import { getCodec } from '../../codec/index.js';
import type { Codec, PayloadFormat } from '../../codec/types.js';
import { cleanupCompaction } from '../../core/compact.js';
import { openStore } from '../../core/index.js';
import { applyWork, type ApplyInput } from '../../core/telemetry/apply-group.js';
import type { ApplyReply, ApplyRequest, WireOutcome } from './protocol.js';
import { unpackRecords } from './protocol.js';
import { toWire } from './wire-error.js';

const codec: Codec = getCodec();

/** Flattens the records, one codec call per format; refused ones get their error, the rest their input. */
function flattenAll(req: ApplyRequest): { inputs: ApplyInput[]; at: number[]; outcomes: WireOutcome[] } {
  const records = unpackRecords(req.records, req.count);
  const byFormat = new Map<PayloadFormat, number[]>();
  records.forEach((r, i) => {
    const list = byFormat.get(r.format);
    if (list === undefined) byFormat.set(r.format, [i]);
    else list.push(i);
  });
  const flat = new Array<ApplyInput | undefined>(records.length);
  const outcomes = new Array<WireOutcome>(records.length);
  for (const [format, idx] of byFormat) {
    const results = codec.flattenBatch(idx.map((i) => records[i]!.payload), format, req.flattenLimits);
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

async function apply(req: ApplyRequest): Promise<ApplyReply> {
  const { inputs, at, outcomes } = flattenAll(req);
  // Nothing to write: the instance is not opened (nor created) for a group refused whole.
  if (inputs.length === 0) return { id: req.id, ok: true, outcomes, entry: null };
  // A compaction interrupted before its rename left its temporary copy behind (as the pool does at open).
  cleanupCompaction(req.dir);
  const store = openStore(req.dir, {
    durability: req.durability,
    codec,
    partition: codec.partitionOf(req.deviceId),
    ...(req.mapSize === undefined ? {} : { mapSize: req.mapSize }),
  });
  try {
    const done = await store.writeAsync((txn) => applyWork(txn, req.deviceId, inputs));
    done.outcomes.forEach((o, k) => {
      outcomes[at[k]!] = o === null ? { s: 'meta' } : o.status === 'duplicate' ? { s: 'duplicate', ptr: o.ptr.toString('hex') } : { s: 'stored', ptr: o.ptr.toString('hex'), ts: o.ts };
    });
    return { id: req.id, ok: true, outcomes, entry: done.entry };
  } finally {
    // Closed before the answer: the main thread may open the instance as soon as it has it.
    await store.close();
  }
}

parentPort?.on('message', (req: ApplyRequest) => {
  void apply(req).then(
    (reply) => parentPort?.postMessage(reply),
    (err: unknown) => parentPort?.postMessage({ id: req.id, ok: false, error: toWire(err) } satisfies ApplyReply),
  );
});
