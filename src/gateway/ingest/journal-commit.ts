/**
 * The journaled commit path (journal on). Admitted messages are prepared as on the
 * direct path (validated, flattened in one codec call; rejections dead-lettered before
 * they resolve), then every valid message of the cut becomes one journal record: all
 * cuts of one event-loop turn share one write + fdatasync. Once that is durable the
 * messages go to their devices' apply queues (./apply-queue.ts) and resolve `accepted`
 * (PUBACK). Device commits happen later, off the ack path.
 */
import { performance } from 'node:perf_hooks';
import { LmjError, isLmjError } from '../../errors.js';
import type { Journal, JournalRecord } from '../journal/index.js';
import type { DeviceApplier } from './apply-queue.js';
import type { CommitContext, Pending, Work } from './commit.js';
import { PrepareQueue, type PrepareTiming } from './prepare-queue.js';
import type { AckStages } from './types.js';

/** Limits of a {@link JournalCommitter}. */
export interface JournalCommitOptions {
  maxMessages: number;
  maxDelayMs: number;
  /** Most messages prepared per event-loop turn (the rest in the next turns); default all. */
  turnMessages?: number;
  /** Each journaled cut: where its time went from submit to resolve (metrics). */
  onStages?(stages: AckStages): void;
}

function failAll(items: readonly Pending[], err: unknown): void {
  // JOURNAL_IO / FULL / CLOSED keep their code: the ack policy does not ack them (redelivery).
  const error = isLmjError(err) ? err : new LmjError('JOURNAL_IO', `journal append failed: ${String(err)}`, { cause: err });
  for (const p of items) p.resolve({ status: 'rejected', code: error.code, message: error.message });
}

/** Queue → prepare → journal append (group commit) → apply queues; resolves `accepted`. */
export class JournalCommitter {
  private readonly front: PrepareQueue;
  /** Set while the journal is over budget: later cuts wait behind it, so appends keep their order. */
  private spaceWait: Promise<void> | undefined;

  constructor(
    ctx: CommitContext,
    private readonly journal: Journal,
    private readonly applier: DeviceApplier,
    private readonly opts: JournalCommitOptions,
  ) {
    this.front = new PrepareQueue(ctx, {
      maxMessages: opts.maxMessages,
      maxDelayMs: opts.maxDelayMs,
      ...(opts.turnMessages === undefined ? {} : { turnMessages: opts.turnMessages }),
      prepared: (byDevice, timing) => void this.journalBatch(byDevice, timing),
      failed: (batch, err) => failAll(batch, err),
    });
  }

  /** Messages submitted and not yet prepared. */
  get queued(): number {
    return this.front.queued;
  }

  /** Adds a message; it is prepared within `maxDelayMs` (at once when a batch is full or draining). */
  push(pending: Pending): void {
    this.front.push(pending);
  }

  /** From now on, prepare every push at once (shutdown). */
  drain(): void {
    this.front.drain();
  }

  /** Prepares everything queued and appends it to the journal (one group per turn). */
  cut(): void {
    this.front.cut();
  }

  private async journalBatch(byDevice: Map<string, Work[]>, timing: PrepareTiming): Promise<void> {
    const records: JournalRecord[] = [];
    const pendings: Pending[] = [];
    for (const [deviceId, work] of byDevice) {
      for (const w of work) {
        const { msg, receivedAt } = w.pending;
        records.push({ deviceId, kind: w.kind, format: 'auto', identity: w.identity, receivedAt, payload: msg.payload });
        pendings.push(w.pending);
      }
    }
    let positions;
    try {
      // Admission already holds new messages while over budget; this covers cuts admitted just before.
      if (this.spaceWait !== undefined || this.journal.overBudget()) {
        this.spaceWait ??= this.journal.waitForSpace().finally(() => (this.spaceWait = undefined));
        await this.spaceWait;
      }
      positions = await this.journal.append(records);
    } catch (err) {
      failAll(pendings, err);
      return;
    }
    const acceptedAt = performance.now();
    let i = 0;
    for (const [deviceId, work] of byDevice) {
      this.applier.enqueue(
        deviceId,
        work.map((w) => ({
          input: { kind: w.kind, flat: w.flat, identity: w.identity, receivedAt: w.pending.receivedAt },
          position: positions[i++]!,
          msg: w.pending.msg,
          acceptedAt,
        })),
      );
    }
    for (const [deviceId, work] of byDevice) for (const w of work) w.pending.resolve({ status: 'accepted', deviceId });
    this.opts.onStages?.({
      messages: timing.messages,
      queueMs: timing.queueMs,
      prepareMs: timing.prepareMs,
      journalMs: acceptedAt - timing.at,
      handOffMs: performance.now() - acceptedAt,
    });
  }
}
