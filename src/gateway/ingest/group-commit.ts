/**
 * The group-commit scheduler. Admitted messages are prepared (validated, flattened in
 * one codec call) at most `maxDelayMs` after they arrive, into a forming group per
 * device. Each device has at most one commit in flight; what arrives meanwhile forms
 * its next group, so groups grow with commit latency (up to `maxMessages` per device
 * commit) and stay small when idle.
 */
import { performance } from 'node:perf_hooks';
import { LmjError, isLmjError } from '../../errors.js';
import { commitDeviceWork, type CommitContext, type Pending, type Work } from './commit.js';
import { PrepareQueue } from './prepare-queue.js';
import type { CommitBatchInfo, IngestResult } from './types.js';

/** Limits and callbacks of a {@link GroupCommitter}. */
export interface GroupCommitOptions {
  maxMessages: number;
  maxDelayMs: number;
  maxInflight: number;
  /** Each reported group (the device commits started together), once all are done. */
  onGroup(info: CommitBatchInfo): void;
}

function failAll(items: readonly { resolve(r: IngestResult): void }[], err: unknown): void {
  // Unexpected (e.g. the codec threw for the whole batch): reject what is left.
  const error = isLmjError(err) ? err : new LmjError('DEVICE_UNAVAILABLE', `commit failed: ${String(err)}`, { cause: err });
  for (const p of items) p.resolve({ status: 'rejected', code: error.code, message: error.message });
}

/** Queue → per-device forming groups → at most one commit in flight per device. */
export class GroupCommitter {
  private readonly front: PrepareQueue;
  /** Prepared work per device, waiting for that device's commit slot (insertion = arrival order). */
  private readonly forming = new Map<string, Work[]>();
  /** Devices with a commit in flight. */
  private readonly busy = new Set<string>();
  private restartQueued = false;

  constructor(
    private readonly ctx: CommitContext,
    private readonly opts: GroupCommitOptions,
  ) {
    this.front = new PrepareQueue(ctx, {
      maxMessages: opts.maxMessages,
      maxDelayMs: opts.maxDelayMs,
      prepared: (byDevice) => {
        for (const [id, work] of byDevice) {
          const f = this.forming.get(id);
          if (f === undefined) this.forming.set(id, work);
          else for (const w of work) f.push(w);
        }
      },
      failed: (batch, err) => failAll(batch, err),
      afterCut: () => this.startReady(),
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

  /** Prepares everything queued (one codec call per `maxMessages`) into the devices' forming groups. */
  cut(): void {
    this.front.cut();
  }

  /**
   * Starts a commit for every device that has forming work and no commit in flight.
   * Devices started together form one reported group (their stores' commits run in the
   * same event-loop turn). A slow device never holds back the others: each restarts on
   * its own completion with whatever arrived meanwhile (adaptive group size).
   */
  private startReady(): void {
    const started: Promise<void>[] = [];
    let messages = 0;
    let first = Infinity;
    for (const [id, work] of this.forming) {
      if (this.busy.has(id)) continue;
      if (this.busy.size >= this.opts.maxInflight) break;
      const take = work.length <= this.opts.maxMessages ? work : work.splice(0, this.opts.maxMessages);
      if (take === work) this.forming.delete(id);
      this.busy.add(id);
      messages += take.length;
      for (const w of take) if (w.pending.submittedAt < first) first = w.pending.submittedAt;
      started.push(
        commitDeviceWork(this.ctx, id, take)
          .catch((err: unknown) => failAll(take.map((w) => w.pending), err))
          .finally(() => {
            this.busy.delete(id);
            this.restartSoon();
          }),
      );
    }
    if (started.length === 0) return;
    const devices = started.length;
    void Promise.all(started).then(() => this.opts.onGroup({ devices, messages, latencyMs: performance.now() - first }));
  }

  /** After a device commit: start waiting devices once per turn, so they commit together. */
  private restartSoon(): void {
    if (this.restartQueued || this.forming.size === 0) return;
    this.restartQueued = true;
    setImmediate(() => {
      this.restartQueued = false;
      this.startReady();
    });
  }
}
