/**
 * The journal's applier: per-device queues of journaled messages, applied to the
 * device instances in per-device groups (one normal durable `writeAsync` each, groups
 * grow with the backlog) with at most `maxInFlight` device commits at once. Each device
 * commit is followed by `journal.applied(device, position of its last record)`. Which
 * device goes next is ./apply-order.ts: with more devices waiting than the pool holds, a
 * device's messages wait (durable in the journal) until one open applies many of them.
 * Past `keepFlat` queued messages, new ones are held as their payload only (a flattened
 * message holds ~30 small buffers) and flattened again when their device commits.
 *
 * A message that cannot be applied (bad for its device, or the device cannot store
 * data) was already acked: it is dead-lettered durably and still marked applied, so it
 * never pins journal segments. A device commit that fails because the disk is full is
 * tried again, backing off, until there is space. Per-device order is the enqueue order
 * (= journal order).
 */
import { performance } from 'node:perf_hooks';
import type { PayloadFormat } from '../../codec/types.js';
import { LmjError, isLmjError } from '../../errors.js';
import { deferFlat, flattenDeferred, type DeferredInput } from './apply-deferred.js';
import { pickDevices, type ApplyOrderLimits, type Waiting } from './apply-order.js';
import type { Journal, Position } from '../journal/index.js';
import { commitItems } from './apply-commit.js';
import type { ApplyInput, CommitContext } from './commit.js';
import type { CommitBatchInfo, InboundMessage, IngestResult } from './types.js';


/** One journaled message waiting for its device's apply. */
export interface ApplyItem {
  /** The flattened message (or its payload, deferred), or the error that makes it unappliable (dead-lettered at its turn). */
  input: ApplyInput | DeferredInput | LmjError;
  position: Position;
  msg: InboundMessage;
  /** The payload's format as journaled (default `auto`), for a deferred flatten. */
  format?: PayloadFormat;
  /** performance.now() when it was acked; undefined for replayed messages. */
  acceptedAt?: number;
  /** Enqueue order, set by {@link DeviceApplier.enqueue}. */
  seq?: number;
}

/** What the applier needs besides the commit context. */
export interface ApplierOptions extends ApplyOrderLimits {
  journal: Journal;
  maxInFlight: number;
  maxMessages: number;
  /** Queued messages past which new ones are held unflattened ({@link DeferredInput}). */
  keepFlat: number;
  /** Queued messages at which every waiting device may start (largest first), batching or not. */
  pressureAt: number;
  /** Each applied message's result (stored, duplicate, meta, rejected). */
  onResult(result: IngestResult, msg: InboundMessage): void;
  onLag(ms: number): void;
  /** Each durable device commit (the commit histograms; journal on, a group is one device's). */
  onCommit(info: CommitBatchInfo): void;
}

/** One device's waiting items and when the oldest of them arrived. */
class DeviceQueue implements Waiting {
  constructor(
    public items: ApplyItem[],
    public since: number,
  ) {}

  get count(): number {
    return this.items.length;
  }
}

/** Per-device apply queues with bounded device commits in flight. */
export class DeviceApplier {
  /** Waiting work per device (./apply-order.ts picks which starts next). */
  private readonly queues = new Map<string, DeviceQueue>();
  /** Devices a read waits for, with the number of waiting reads; `everyone`: reads of all devices. */
  private readonly urgent = new Map<string, number>();
  private everyone = 0;
  /** Callers of {@link idle} (flush, replay, shutdown): while any wait, nothing is held back. */
  private draining = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private startQueued = false;
  private wakeAt: number | undefined;
  private readonly busy = new Set<string>();
  /**
   * Devices with items that could not be marked applied (shutdown, dead-letter write
   * failure): no later position of theirs is marked either, so the journal replays them.
   */
  private readonly held = new Set<string>();
  /**
   * Devices whose last commit failed with DISK_FULL: their items went back to the front of
   * their queue and wait for the timer (backing off) before the commit is tried again.
   */
  private readonly cooling = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  private closing = false;
  /** Off during the start's replay: a start on a full disk must not wait for space (see {@link retryOnDiskFull}). */
  private retrying = false;
  private size = 0;
  private waiters: (() => void)[] = [];
  private seq = 0;
  /** Per device with unapplied items: the seq of its last enqueued item, and of its last applied one. */
  private readonly lastEnqueued = new Map<string, number>();
  private readonly lastDone = new Map<string, number>();

  constructor(
    private readonly ctx: CommitContext,
    private readonly opts: ApplierOptions,
  ) {}

  /** Messages enqueued and not yet applied (queued or in a commit). */
  get backlog(): number {
    return this.size;
  }

  /** Device commits in flight now. */
  get applying(): number {
    return this.busy.size;
  }

  /** True when the device has messages queued or in a commit (the pool keeps such instances open longest). */
  hasWork(deviceId: string): boolean {
    return this.queues.has(deviceId) || this.busy.has(deviceId);
  }

  /** Appends one device's items (in journal order) and starts commits where slots are free. */
  enqueue(deviceId: string, items: readonly ApplyItem[]): void {
    if (items.length === 0) return;
    for (const it of items) {
      it.seq = ++this.seq;
      if (this.size >= this.opts.keepFlat) deferFlat(it);
    }
    this.lastEnqueued.set(deviceId, this.seq);
    let q = this.queues.get(deviceId);
    if (q === undefined) this.queues.set(deviceId, (q = new DeviceQueue([...items], performance.now())));
    else for (const it of items) q.items.push(it);
    this.size += items.length;
    // A full pass looks at every waiting device: only when this one may start, once per turn.
    if (this.busy.size >= this.opts.maxInFlight) return;
    if (!this.batching() || q.count >= this.opts.minGroup || this.ctx.pool.isOpen(deviceId) || this.urgent.has(deviceId)) this.startSoon();
    else this.wakeLater(q.since + this.opts.maxWaitMs);
  }

  /** True while devices are held back until their groups are worth an instance open (./apply-order.ts). */
  private batching(): boolean {
    return this.draining === 0 && this.everyone === 0 && !this.closing && this.size < this.opts.pressureAt && this.queues.size + this.busy.size > this.ctx.pool.stats().maxOpen;
  }

  /** Runs {@link startReady} once after the current synchronous work (a journal group enqueues many devices). */
  private startSoon(): void {
    if (this.startQueued) return;
    this.startQueued = true;
    queueMicrotask(() => {
      this.startQueued = false;
      this.startReady();
    });
  }

  /** Undefined while the backlog is under `limit`, else a promise resolving once it is. */
  room(limit: number): Promise<void> | undefined {
    if (this.size < limit) return undefined;
    return this.until(() => this.size < limit);
  }

  /** Resolves once everything enqueued is applied (nothing is held back for batching meanwhile). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return this.hurry(() => this.draining++, () => this.draining--, () => this.size === 0);
  }

  /** Marks waiters (`on`), starts what may start now, waits for `cond`, then unmarks them (`off`). */
  private async hurry(on: () => void, off: () => void, cond: () => boolean): Promise<void> {
    on();
    try {
      this.startReady();
      await this.until(cond);
    } finally {
      off();
    }
  }

  /**
   * Read barrier: undefined when nothing enqueued so far for `deviceId` (every device
   * when absent) is still unapplied, else a promise resolving once it all is. Later
   * arrivals are not waited for.
   */
  settled(deviceId?: string): Promise<void> | undefined {
    const targets = deviceId === undefined ? [...this.lastEnqueued] : this.lastEnqueued.has(deviceId) ? [[deviceId, this.lastEnqueued.get(deviceId) as number] as const] : [];
    if (targets.length === 0) return undefined;
    const cond = (): boolean => targets.every(([id, seq]) => !this.lastEnqueued.has(id) || (this.lastDone.get(id) ?? 0) >= seq);
    // A read waits for its device: that device is not held back for batching.
    if (deviceId === undefined) return this.hurry(() => this.everyone++, () => this.everyone--, cond);
    const mark = (n: number): void => {
      if (n > 0) this.urgent.set(deviceId, n);
      else this.urgent.delete(deviceId);
    };
    return this.hurry(() => mark((this.urgent.get(deviceId) ?? 0) + 1), () => mark((this.urgent.get(deviceId) ?? 1) - 1), cond);
  }

  /**
   * From now on a device commit that fails for a full disk is tried again until there is
   * space. Before (the start's replay), such records stay unapplied until the next start,
   * so a daemon started on a full disk still comes up and reports it.
   */
  retryOnDiskFull(): void {
    this.retrying = true;
  }

  /**
   * Shutdown: no more DISK_FULL retries. What waits for one is left to the journal (not
   * marked applied, replayed at the next start), so {@link idle} cannot hang on a full disk.
   */
  close(): void {
    this.closing = true;
    for (const [id, { timer }] of this.cooling) {
      clearTimeout(timer);
      this.cooling.delete(id);
      const q = this.queues.get(id)?.items ?? [];
      this.queues.delete(id);
      this.held.add(id);
      if (q.length > 0) this.finished(id, q.length, q[q.length - 1]!.seq as number);
    }
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = undefined;
    // Nothing is held back for batching any more: the shutdown drains every queue.
    this.startReady();
  }

  private async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((r) => this.waiters.push(r));
  }

  private startReady(): void {
    const slots = this.opts.maxInFlight - this.busy.size;
    if (slots <= 0 || this.queues.size === 0) return;
    const { pool } = this.ctx;
    const pick = pickDevices(
      {
        waiting: this.queues,
        blocked: (id) => this.busy.has(id) || this.cooling.has(id),
        urgent: this.urgent,
        isOpen: (id) => pool.isOpen(id),
        batching: this.batching(),
        now: performance.now(),
      },
      this.opts,
      slots,
    );
    for (const id of pick.ids) this.start(id);
    this.wakeLater(pick.wakeAt);
  }

  /** Starts one device commit of (up to `maxMessages` of) its queued items. */
  private start(id: string): void {
    const q = this.queues.get(id) as DeviceQueue;
    const take = q.items.length <= this.opts.maxMessages ? q.items : q.items.splice(0, this.opts.maxMessages);
    if (take === q.items) this.queues.delete(id);
    this.busy.add(id);
    void this.applyDevice(id, take).then((retry) => {
      this.busy.delete(id);
      if (retry) this.retryLater(id, take);
      else this.finished(id, take.length, (take[take.length - 1] as ApplyItem).seq as number);
      this.startReady();
    });
  }

  /** Looks again at `at` (performance.now() time) for devices held back for batching; one timer at most. */
  private wakeLater(at: number | undefined): void {
    if (at === undefined || (this.wakeAt !== undefined && this.wakeAt <= at)) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = undefined;
      this.startReady();
    }, Math.max(1, at - performance.now()));
    this.wakeTimer.unref();
  }

  /** `count` items of a device up to `lastSeq` are done (applied, dead-lettered or left to the journal). */
  private finished(deviceId: string, count: number, lastSeq: number): void {
    this.size -= count;
    if (this.lastEnqueued.get(deviceId) === lastSeq) {
      this.lastEnqueued.delete(deviceId);
      this.lastDone.delete(deviceId);
    } else {
      this.lastDone.set(deviceId, lastSeq);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * The disk was full: the items go back to the front of the device's queue (journal order
   * kept, still counted in the backlog, reads of the device keep waiting for them) and the
   * device is tried again after a delay that doubles up to 1 s, until space returns.
   */
  private retryLater(deviceId: string, items: ApplyItem[]): void {
    const rest = this.queues.get(deviceId);
    this.queues.set(deviceId, new DeviceQueue(rest === undefined ? items : items.concat(rest.items), rest?.since ?? performance.now()));
    const delayMs = Math.min(1000, 2 * (this.cooling.get(deviceId)?.delayMs ?? 25));
    const timer = setTimeout(() => {
      this.cooling.delete(deviceId);
      this.startReady();
    }, delayMs);
    this.cooling.set(deviceId, { timer, delayMs });
  }

  /**
   * Applies one device's items, dead-letters what failed, then marks them applied. Never
   * rejects; resolves true when the disk was full or the apply worker was lost, and the
   * items are to be tried again.
   */
  private async applyDevice(deviceId: string, items: readonly ApplyItem[]): Promise<boolean> {
    const failed: { item: ApplyItem; error: LmjError }[] = [];
    const ok: ApplyItem[] = [];
    // The worker flattens deferred payloads itself: nothing is flattened here then.
    for (const it of this.ctx.applyWorker === undefined ? flattenDeferred(this.ctx, items) : items) {
      if (it.input instanceof LmjError) failed.push({ item: it, error: it.input });
      else ok.push(it);
    }
    const outcome = await commitItems(this.ctx, this.opts, deviceId, ok);
    // A lost worker is the gateway's state, like a full disk, but retried during the replay too.
    if (outcome === 'worker-lost' && !this.closing) return true;
    if (outcome === 'disk-full' && this.retrying && !this.closing) return true;
    if (outcome === 'retry-later' || outcome === 'disk-full' || outcome === 'worker-lost') {
      this.held.add(deviceId);
      return false;
    }
    failed.push(...outcome);
    if (failed.length > 0 && !(await this.deadLetter(deviceId, failed))) this.held.add(deviceId);
    if (this.held.has(deviceId)) return false;
    this.opts.journal.applied(deviceId, (items[items.length - 1] as ApplyItem).position);
    return false;
  }

  /** Dead-letters durably; false (not marked applied, replayed at next start) when that write fails. */
  private async deadLetter(deviceId: string, failed: readonly { item: ApplyItem; error: LmjError }[]): Promise<boolean> {
    const at = Date.now();
    try {
      const dropped = await this.ctx.deadLetters.add(
        failed.map(({ item: { msg }, error }) => ({
          at, topic: msg.topic, code: error.code, message: error.message, qos: msg.qos, payload: Buffer.from(msg.payload), deviceId,
          ...(msg.clientId === undefined ? {} : { clientId: msg.clientId }),
        })),
      );
      if (dropped > 0) this.ctx.onDeadLettersDropped(dropped);
    } catch (err) {
      const e = isLmjError(err) ? err : new LmjError('STORE_IO', `dead-letter write failed: ${(err as Error).message}`, { cause: err });
      for (const f of failed) this.ctx.onError(e, f.item.msg, deviceId);
      return false;
    }
    for (const { item, error } of failed) {
      this.ctx.onError(error, item.msg, deviceId);
      this.opts.onResult({ status: 'rejected', code: error.code, message: error.message, deviceId }, item.msg);
    }
    return true;
  }
}
