/**
 * Start-up replay (journal on): every journaled record its device had not durably
 * applied at the crash goes through the same per-device apply queues, in journal order,
 * before the pipeline takes new messages. Re-applying is idempotent: a reading already
 * stored is a duplicate by its identity (the `ids` index), meta merges replay in order.
 */
import type { PayloadFormat } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import type { Journal, ReplayEntry } from '../journal/index.js';
import type { ApplyItem, DeviceApplier } from './apply-queue.js';
import type { CommitContext } from './commit.js';

/** Records flattened per codec call, and the most held in memory before waiting for the applier. */
const REPLAY_BATCH = 4096;

function flattenEntries(ctx: CommitContext, entries: readonly ReplayEntry[]): Map<string, ApplyItem[]> {
  const byFormat = new Map<PayloadFormat, number[]>();
  entries.forEach((e, i) => {
    const list = byFormat.get(e.record.format);
    if (list === undefined) byFormat.set(e.record.format, [i]);
    else list.push(i);
  });
  const items = new Array<ApplyItem>(entries.length);
  for (const [format, idx] of byFormat) {
    const outcomes = ctx.codec.flattenBatch(idx.map((i) => entries[i]!.record.payload), format, ctx.flattenLimits);
    idx.forEach((entryIndex, k) => {
      const { record, position } = entries[entryIndex]!;
      const outcome = outcomes[k];
      const msg = { topic: ctx.topics.topicFor(record.kind, record.deviceId), payload: record.payload, qos: 1 as const, receivedAt: record.receivedAt };
      // Validated before it was journaled; only changed flatten limits can fail here.
      const input =
        outcome === undefined || !outcome.ok
          ? (outcome?.error ?? new LmjError('INVALID_PARAM', 'codec returned no outcome'))
          : { kind: record.kind, flat: outcome.flat, identity: record.identity, receivedAt: record.receivedAt };
      items[entryIndex] = { input, position, msg, format: record.format };
    });
  }
  const byDevice = new Map<string, ApplyItem[]>();
  entries.forEach((e, i) => {
    const list = byDevice.get(e.record.deviceId);
    if (list === undefined) byDevice.set(e.record.deviceId, [items[i]!]);
    else list.push(items[i]!);
  });
  return byDevice;
}

/** Replays the journal's unapplied records and resolves once all of them are applied; returns their count. */
export async function replayJournal(ctx: CommitContext, journal: Journal, applier: DeviceApplier): Promise<number> {
  let batch: ReplayEntry[] = [];
  let count = 0;
  const feed = async (): Promise<void> => {
    for (const [deviceId, items] of flattenEntries(ctx, batch)) applier.enqueue(deviceId, items);
    count += batch.length;
    batch = [];
    // Bounds memory: a journal of hundreds of MB is never flattened all at once.
    await applier.idle();
  };
  for await (const entry of journal.replay()) {
    batch.push(entry);
    if (batch.length >= REPLAY_BATCH) await feed();
  }
  if (batch.length > 0) await feed();
  return count;
}
