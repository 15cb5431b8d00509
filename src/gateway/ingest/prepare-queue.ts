/**
 * The front of both commit paths: submitted messages wait at most `maxDelayMs` (or until
 * `maxMessages` are queued, or at once while draining), then are prepared — validated
 * and flattened, one codec call per `maxMessages` — and handed on per device. Bad input
 * found while preparing is rejected (dead-lettered) here.
 */
import { performance } from 'node:perf_hooks';
import { prepareBatch, rejectAll, type CommitContext, type Pending, type Prepared, type Work } from './commit.js';

/** Where a prepared batch's time went before it was handed on (ms). */
export interface PrepareTiming {
  messages: number;
  /** From its oldest message's submit until the cut. */
  queueMs: number;
  /** The batch's synchronous validate + flatten (one codec call). */
  prepareMs: number;
  /** performance.now() at the end of the prepare. */
  at: number;
}

/** What a {@link PrepareQueue} hands its owner. */
export interface PrepareQueueOptions {
  maxMessages: number;
  maxDelayMs: number;
  /**
   * Most messages prepared in one event-loop turn: a cut past it prepares that many and
   * the rest in the following turns (setImmediate), so I/O completions run in between.
   * Default: everything queued at once.
   */
  turnMessages?: number;
  /** One prepared batch: each device's work in arrival order. */
  prepared(byDevice: Map<string, Work[]>, timing: PrepareTiming): void;
  /** The whole batch failed to prepare (an unexpected codec error): reject it. */
  failed(batch: readonly Pending[], err: unknown): void;
  /** After a cut has handed on everything queued. */
  afterCut?(): void;
}

/** Queue → prepare, cut by size, time or drain. */
export class PrepareQueue {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Set while draining: every push is prepared at once. */
  private draining = false;
  /** Set when this turn's slice is prepared and the rest is scheduled for the next turn. */
  private resumeQueued = false;

  constructor(
    private readonly ctx: CommitContext,
    private readonly opts: PrepareQueueOptions,
  ) {}

  /** Messages submitted and not yet prepared. */
  get queued(): number {
    return this.queue.length;
  }

  /** Adds a message; it is prepared within `maxDelayMs` (at once when a batch is full or draining). */
  push(pending: Pending): void {
    this.queue.push(pending);
    if (this.queue.length >= this.opts.maxMessages || this.draining) {
      this.cut();
      return;
    }
    // While a resume is scheduled it prepares this push too: no timer needed.
    if (!this.resumeQueued) this.timer ??= setTimeout(() => this.cut(), this.opts.maxDelayMs);
  }

  /** From now on, prepare every push at once (shutdown). */
  drain(): void {
    this.draining = true;
  }

  /** Prepares everything queued (at most `turnMessages` in this turn, the rest in the next ones) and hands it on. */
  cut(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // This turn's slice is done: the scheduled resume prepares what was pushed since.
    if (this.resumeQueued) return;
    const max = Math.min(this.opts.maxMessages, this.opts.turnMessages ?? Infinity);
    let budget = this.opts.turnMessages ?? Infinity;
    while (this.queue.length > 0) {
      if (budget <= 0) {
        this.resumeQueued = true;
        setImmediate(() => {
          this.resumeQueued = false;
          this.cut();
        });
        break;
      }
      const batch = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
      this.queue = batch === this.queue ? [] : this.queue.slice(max);
      budget -= batch.length;
      let prepared: Prepared;
      const start = performance.now();
      try {
        prepared = prepareBatch(this.ctx, batch);
      } catch (err) {
        this.opts.failed(batch, err);
        continue;
      }
      const at = performance.now();
      if (prepared.early.length > 0) void rejectAll(this.ctx, prepared.early);
      if (prepared.byDevice.size > 0) {
        this.opts.prepared(prepared.byDevice, { messages: batch.length, queueMs: start - batch[0]!.submittedAt, prepareMs: at - start, at });
      }
    }
    this.opts.afterCut?.();
  }
}
