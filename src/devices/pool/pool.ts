/**
 * The per-device instance pool: each device's LMJCore instance lives in
 * `DIR/devices/<deviceId>/`, is opened lazily on first use, and is closed again
 * (least recently used first) when the open-instance cap — derived from the fd
 * limit — is reached. An instance in use (refcount > 0) is never closed; an
 * acquisition that finds every instance busy waits for one to be released.
 *
 * Which idle instance is closed: the least recently used one among those the owner does
 * not expect to use again soon ({@link DevicePool.preferKeeping}: the journal's applier
 * names devices with queued work), else the least recently used idle one. Plain LRU is
 * the worst choice for an applier that visits a large fleet in turn: it closes exactly
 * the instance whose device has waited longest, i.e. the one it needs next.
 *
 * The cap counts each instance's peak descriptors (a `fast` instance's flush briefly
 * holds one more), and each exclusive hold as one instance (its holder opens the files:
 * compaction, the device-apply worker). If the process still runs out of descriptors (EMFILE/ENFILE —
 * sockets, other files), an open closes an idle instance and retries a few times
 * before it fails with DEVICE_UNAVAILABLE; retries are counted in `fdRetries`.
 *
 * Lending ({@link DevicePool.lend}, ./loans.ts): a borrower that opens the files itself
 * (the device-apply worker) keeps the device's exclusive hold across its uses until the
 * pool asks for it back; a lent instance counts as open (`open`, the cap, `isOpen`) and
 * is recalled like an idle instance is evicted when a slot is needed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getCodec } from '../../codec/index.js';
import type { LmjStore } from '../../core/types.js';
import { LmjError } from '../../errors.js';
import { assertDeviceId } from '../device-id.js';
import { devicesDir } from '../layout.js';
import { deriveMaxOpen, fdsPerInstance, softFdLimit } from './fd-budget.js';
import { MAX_FD_RETRIES, isFdExhaustion } from './fd-exhaustion.js';
import { Holds, type HoldHost } from './holds.js';
import { openFailure, openInstance } from './open-instance.js';
import { QuarantineGate } from './quarantine-gate.js';
import type { AcquireOptions, Borrower, DevicePool, ExclusiveOptions, Loan, PoolOptions, PoolStats } from './types.js';

interface Entry {
  id: string;
  store: LmjStore;
  refs: number;
  /** Set while the instance is being closed; its fds still count until it resolves. */
  closing?: Promise<void>;
}

/** Creates a pool over `options.dataDir`/devices. */
export function createPool(options: PoolOptions): DevicePool {
  return new Pool(options);
}

class Pool implements DevicePool {
  private readonly devicesDir: string;
  private readonly maxOpen: number;
  private readonly codec;
  /** Map order is LRU order: a use moves the entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly failures = new Map<string, { until: number; error: LmjError }>();
  private waiters: (() => void)[] = [];
  /** Devices held exclusively (compaction, loans to the apply worker): their acquisitions wait. */
  private readonly holds: Holds;
  /** Per device, callbacks run when its instance's last user releases it. */
  private readonly idleWaiters = new Map<string, (() => void)[]>();
  /** Quarantined devices: the error their uses throw. */
  private readonly quarantines: QuarantineGate;
  private closed = false;
  /** Devices whose idle instances are closed last (see the file comment). */
  private keep: (deviceId: string) => boolean = () => false;
  private readonly counters = { opens: 0, evictions: 0, waits: 0, openFailures: 0, fdRetries: 0 };

  constructor(private readonly options: PoolOptions) {
    this.devicesDir = devicesDir(options.dataDir);
    this.codec = options.codec ?? getCodec();
    const fds = options.fdsPerInstance ?? fdsPerInstance(options.durability ?? 'safe');
    this.maxOpen = options.maxOpen ?? deriveMaxOpen(softFdLimit(), options.fdHeadroom, fds);
    if (!Number.isSafeInteger(this.maxOpen) || this.maxOpen < 1) {
      throw new LmjError('BAD_CONFIG', 'pool.maxOpen must be a positive integer', { details: { key: 'pool.maxOpen' } });
    }
    this.holds = new Holds(this.holdHost());
    this.quarantines = new QuarantineGate(this.devicesDir, options.quarantine, (id, why) => this.hook('quarantine', id, why));
    for (const r of options.quarantine?.list() ?? []) this.quarantines.hold(r.deviceId, r.reason);
  }

  quarantine(deviceId: string, reason: string): void {
    const id = assertDeviceId(deviceId);
    if (!this.quarantines.hold(id, reason)) return;
    this.options.quarantine?.add({ deviceId: id, reason: this.quarantines.reasonOf(id) ?? reason, at: Date.now() });
    this.holds.loans.recall(id);
    const entry = this.entries.get(id);
    if (entry !== undefined && entry.refs === 0 && entry.closing === undefined) void this.closeEntry(entry);
  }

  quarantined(): { deviceId: string; reason: string }[] {
    return this.quarantines.list();
  }

  /** Throws the quarantine error of `id`, unless its marker was removed (salvaged) since. */
  private checkQuarantine(id: string): void {
    if (this.quarantines.check(id)) this.failures.delete(id);
  }

  isOpen(deviceId: string): boolean {
    const entry = this.entries.get(deviceId);
    return (entry !== undefined && entry.closing === undefined) || this.holds.loans.isLent(deviceId);
  }

  preferKeeping(keep: (deviceId: string) => boolean): void {
    this.keep = keep;
  }

  pathOf(deviceId: string): string {
    return join(this.devicesDir, assertDeviceId(deviceId));
  }

  exists(deviceId: string): boolean {
    return existsSync(join(this.pathOf(deviceId), 'data.mdb'));
  }

  async use<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const entry = await this.acquire(assertDeviceId(deviceId), options.create === true);
    try {
      return await fn(entry.store);
    } finally {
      this.release(entry);
    }
  }

  private async acquire(id: string, create: boolean): Promise<Entry> {
    try {
      return await this.acquireLoop(id, create);
    } finally {
      // Waiters are woken one per freed slot: if this acquisition was woken but did not
      // take the slot (its device was open already, or it failed), pass the wake on.
      if (this.waiters.length > 0 && this.hasRoom()) this.wake();
    }
  }

  private async acquireLoop(id: string, create: boolean): Promise<Entry> {
    let waited = false;
    let fdRetries = 0;
    for (;;) {
      if (this.closed) throw new LmjError('SHUTTING_DOWN', 'the device pool is closed');
      // Queued behind a compaction (the write resumes on the swapped-in instance) or a
      // loan, which is asked back: the borrower closes the instance, then it opens here.
      const held = this.holds.waitFor(id);
      if (held !== undefined) {
        await held;
        continue;
      }
      this.checkQuarantine(id);
      const entry = this.entries.get(id);
      if (entry !== undefined && entry.closing === undefined) {
        entry.refs++;
        this.entries.delete(id);
        this.entries.set(id, entry);
        return entry;
      }
      if (entry?.closing !== undefined) {
        await entry.closing;
        continue;
      }
      const failure = this.failures.get(id);
      if (failure !== undefined && failure.until > Date.now()) throw failure.error;
      if (!create && !this.exists(id)) throw new LmjError('NOT_FOUND', `unknown device ${id}`, { details: { deviceId: id } });
      if (this.entries.size + this.holds.size >= this.maxOpen) {
        // Closing entries still hold their fds: open only once one has really closed.
        // An exclusive hold counts too: its holder opens the files (compaction, the apply worker).
        const closing = this.makeRoom();
        if (closing !== undefined) {
          await closing;
          continue;
        }
        if (!waited) this.counters.waits++;
        waited = true;
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      // The in-use record is made durable without blocking the event loop; then look again
      // (the pool may have changed meanwhile), and the open itself records nothing more.
      const recording = this.options.inUse?.record(id);
      if (recording !== undefined) {
        try {
          await recording;
        } catch (cause) {
          throw this.openFailed(id, cause);
        }
        continue;
      }
      try {
        return this.open(id);
      } catch (cause) {
        if (!isFdExhaustion(cause) || fdRetries >= MAX_FD_RETRIES || this.entries.size === 0) throw this.openFailed(id, cause);
        // Out of descriptors below the cap (something outside the pool holds them): give
        // one instance's descriptors back and try again.
        fdRetries++;
        this.counters.fdRetries++;
        const closing = this.evictOne() ?? this.anyClosing();
        if (closing !== undefined) await closing;
        else await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    }
  }

  /** True when a waiter could make progress now: a free slot, an idle instance, a close under way, or a loan to recall. */
  private hasRoom(): boolean {
    if (this.closed || this.entries.size + this.holds.size < this.maxOpen) return true;
    for (const e of this.entries.values()) if (e.refs === 0 || e.closing !== undefined) return true;
    return this.holds.loans.recallable();
  }

  /**
   * Starts freeing a slot under the cap: closes an idle instance, else waits for a close
   * under way, else recalls a loan (resolves when its borrower ended it); undefined when
   * nothing can be freed now.
   */
  private makeRoom(): Promise<void> | undefined {
    const closing = this.evictOne() ?? this.anyClosing();
    if (closing !== undefined) return closing;
    const recalled = this.holds.recallOne((id) => this.keepSafely(id));
    if (recalled === undefined) return undefined;
    this.counters.evictions++;
    this.hook('evict', recalled.id);
    return recalled.ended;
  }

  private holdHost(): HoldHost {
    return {
      isClosed: () => this.closed,
      inUse: this.options.inUse,
      pathOf: (id) => this.pathOf(id),
      closeOwn: async (id) => {
        for (let entry = this.entries.get(id); entry !== undefined; entry = this.entries.get(id)) {
          if (entry.closing !== undefined) await entry.closing;
          else if (entry.refs === 0) await this.closeEntry(entry);
          else await new Promise<void>((r) => this.idleWaiters.set(id, [...(this.idleWaiters.get(id) ?? []), r]));
        }
      },
      checkQuarantine: (id) => this.checkQuarantine(id),
      countOpen: (id) => {
        this.counters.opens++;
        this.hook('open', id);
      },
      // The device's own idle instance is closed by the hold: it needs no second slot.
      fits: (id) => this.entries.size - (this.entries.has(id) ? 1 : 0) + this.holds.size < this.maxOpen,
      makeRoom: () => this.makeRoom(),
      waitForSlot: (first) => {
        if (first) this.counters.waits++;
        return new Promise<void>((resolve) => this.waiters.push(resolve));
      },
      wake: () => this.wake(),
    };
  }

  /** Records a failed open: DEVICE_UNAVAILABLE, and a backoff so a broken instance is not hammered. */
  private openFailed(id: string, cause: unknown): LmjError {
    this.counters.openFailures++;
    const { error, backoff } = openFailure(this.devicesDir, id, cause);
    // Running out of descriptors is the process's state, not the device's: no backoff.
    if (backoff) this.failures.set(id, { until: Date.now() + (this.options.failureBackoffMs ?? 1000), error });
    return error;
  }

  /** Opens the instance (throws the raw cause; the caller decides between retry and failure). */
  private open(id: string): Entry {
    // Recorded before the map exists: if reading it kills the process, the next start knows.
    this.options.inUse?.opened(id);
    let store: LmjStore;
    try {
      store = openInstance(this.devicesDir, id, this.options, this.codec);
    } catch (err) {
      this.options.inUse?.closed(id);
      throw err;
    }
    this.failures.delete(id);
    const entry: Entry = { id, store, refs: 1 };
    this.entries.set(id, entry);
    this.counters.opens++;
    this.hook('open', id);
    return entry;
  }

  /**
   * Starts closing the least recently used idle instance not to be kept (else the least
   * recently used idle one); undefined when all are busy.
   */
  private evictOne(): Promise<void> | undefined {
    let fallback: Entry | undefined;
    let victim: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.refs !== 0 || entry.closing !== undefined) continue;
      if (!this.keepSafely(entry.id)) {
        victim = entry;
        break;
      }
      fallback ??= entry;
    }
    victim ??= fallback;
    if (victim === undefined) return undefined;
    this.counters.evictions++;
    this.hook('evict', victim.id);
    return this.closeEntry(victim);
  }

  private keepSafely(id: string): boolean {
    try {
      return this.keep(id);
    } catch {
      // A hint, not a rule: a failing one falls back to plain LRU.
      return false;
    }
  }

  /** Some instance's close in progress, if any. */
  private anyClosing(): Promise<void> | undefined {
    for (const entry of this.entries.values()) if (entry.closing !== undefined) return entry.closing;
    return undefined;
  }

  private closeEntry(entry: Entry): Promise<void> {
    entry.closing = (async () => {
      try {
        await entry.store.close();
      } catch {
        // A failed close leaves nothing we could retry; the entry is dropped regardless.
      } finally {
        this.entries.delete(entry.id);
        this.options.inUse?.closed(entry.id);
        this.wake();
      }
    })();
    return entry.closing;
  }

  /** Marks a device's open instance as broken: closed once idle, next use reopens (with backoff). */
  invalidate(deviceId: string, error: LmjError): void {
    this.failures.set(deviceId, { until: Date.now() + (this.options.failureBackoffMs ?? 1000), error });
    this.holds.loans.recall(deviceId);
    const entry = this.entries.get(deviceId);
    if (entry !== undefined && entry.refs === 0 && entry.closing === undefined) void this.closeEntry(entry);
  }

  exclusive<T>(deviceId: string, fn: (dir: string) => Promise<T>, options: ExclusiveOptions = {}): Promise<T> {
    return this.holds.exclusive(assertDeviceId(deviceId), fn, options.opensInstance === true);
  }

  lend(deviceId: string, borrower: Borrower): Promise<Loan> {
    return this.holds.lend(assertDeviceId(deviceId), borrower);
  }

  private release(entry: Entry): void {
    entry.refs--;
    if (entry.refs === 0) {
      const idle = this.idleWaiters.get(entry.id);
      this.idleWaiters.delete(entry.id);
      for (const w of idle ?? []) w();
      const failure = this.failures.get(entry.id);
      if (failure !== undefined && entry.closing === undefined) void this.closeEntry(entry);
      else this.wake();
    }
  }

  /** Wakes one waiter per freed slot (all of them once the pool is closing). */
  private wake(): void {
    if (!this.closed) {
      this.waiters.shift()?.();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private hook(kind: 'open' | 'evict' | 'quarantine', id: string, reason = ''): void {
    try {
      this.options.hooks?.[kind]?.(id, reason);
    } catch {
      // Hooks are metrics/logging; their failures must not affect storage.
    }
  }

  stats(): PoolStats {
    const { loans } = this.holds;
    return { open: this.entries.size + loans.size, lent: loans.size, maxOpen: this.maxOpen, ...this.counters, recalls: loans.recalls, quarantined: this.quarantines.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    // Lent instances first: their borrowers close them and end the loans.
    await this.holds.recallAll();
    while (this.entries.size > 0) {
      const busy = [...this.entries.values()].filter((e) => e.refs > 0 && e.closing === undefined);
      for (const e of this.entries.values()) if (e.refs === 0 && e.closing === undefined) void this.closeEntry(e);
      const closing = [...this.entries.values()].flatMap((e) => (e.closing === undefined ? [] : [e.closing]));
      if (closing.length > 0) await Promise.all(closing);
      else if (busy.length > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.options.inUse?.markClean();
  }
}
