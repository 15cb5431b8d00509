/**
 * The pool's exclusive holds and loans (./pool.ts owns the open instances). An exclusive
 * hold ({@link DevicePool.exclusive}) gives its holder the device's files with nothing
 * open on them: compaction, salvage swaps, retention's exclusive work, a removal. A loan
 * ({@link DevicePool.lend}, ./loans.ts) is a hold kept by a borrower that opened the
 * instance itself (the device-apply worker) across many uses, until the pool asks for it
 * back. Holds of one device never overlap; each counts as one open instance under the cap.
 */
import { LmjError } from '../../errors.js';
import type { InUseLog } from './in-use-log.js';
import { Loans } from './loans.js';
import type { Borrower, Loan } from './types.js';

/** What the holds need of their pool. */
export interface HoldHost {
  isClosed(): boolean;
  inUse: InUseLog | undefined;
  pathOf(id: string): string;
  /** Waits for the device's users and closes its instance (nothing of the pool open on it after). */
  closeOwn(id: string): Promise<void>;
  /** Throws the quarantine error of a quarantined device. */
  checkQuarantine(id: string): void;
  /** Counts a holder's open like the pool's own (`opens`, the `open` hook). */
  countOpen(id: string): void;
  /** True when one more open instance for `id` fits under the cap. */
  fits(id: string): boolean;
  /** Starts freeing a slot (see the pool); undefined when nothing can be freed now. */
  makeRoom(): Promise<void> | undefined;
  /** Waits to be woken by a freed slot (counted once per acquisition in `waits`). */
  waitForSlot(first: boolean): Promise<void>;
  /** A slot was freed. */
  wake(): void;
}

/** The exclusive holds and loans of one pool. */
export class Holds {
  private readonly held = new Map<string, Promise<void>>();
  readonly loans = new Loans();

  constructor(private readonly host: HoldHost) {}

  /** Holds in force (loans included): each counts as an open instance. */
  get size(): number {
    return this.held.size;
  }

  /**
   * The hold of `id` in force, if any, to wait for; a loan is asked back first (the
   * borrower closes the instance, then the hold ends).
   */
  waitFor(id: string): Promise<void> | undefined {
    const h = this.held.get(id);
    if (h !== undefined) this.loans.recall(id);
    return h;
  }

  /** Recalls one loan to free a slot; resolves once it ended. Undefined when none can be recalled. */
  recallOne(keep: (id: string) => boolean): { id: string; ended: Promise<void> | undefined } | undefined {
    const id = this.loans.recallOne(keep);
    return id === undefined ? undefined : { id, ended: this.held.get(id) };
  }

  /** Recalls every loan and resolves once all have ended. */
  async recallAll(): Promise<void> {
    await Promise.all(this.loans.recallAll().map((id) => this.held.get(id)));
  }

  async exclusive<T>(id: string, fn: (dir: string) => Promise<T>, opensInstance: boolean): Promise<T> {
    const done = await this.hold(id, opensInstance);
    try {
      const result = await fn(this.host.pathOf(id));
      this.host.inUse?.closed(id);
      return result;
    } finally {
      done();
    }
  }

  async lend(id: string, borrower: Borrower): Promise<Loan> {
    // A loan is a long-lived hold: it waits for a slot under the cap like an open does.
    for (let first = true; ; first = false) {
      if (this.host.isClosed()) throw new LmjError('SHUTTING_DOWN', 'the device pool is closed');
      const h = this.waitFor(id);
      if (h !== undefined) await h;
      else if (this.host.fits(id)) break;
      else await (this.host.makeRoom() ?? this.host.waitForSlot(first));
    }
    const done = await this.hold(id, true);
    this.loans.add(id, borrower);
    const { loans, host } = this;
    let ended = false;
    return {
      dir: host.pathOf(id),
      get recalled() {
        return loans.isRecalled(id);
      },
      end(closed: boolean): void {
        if (ended) return;
        ended = true;
        loans.remove(id);
        // A borrower that lost the instance (its thread ended) leaves it suspect for the next start.
        if (closed) host.inUse?.closed(id);
        done();
      },
    };
  }

  /**
   * Starts an exclusive hold of `id`: waits for other holds (asking a loan back), closes
   * the pool's own instance once its users are done, checks the quarantine and records
   * the files as in use. Returns the function that ends the hold.
   */
  private async hold(id: string, opensInstance: boolean): Promise<() => void> {
    for (let h = this.waitFor(id); h !== undefined; h = this.waitFor(id)) await h;
    if (this.host.isClosed()) throw new LmjError('SHUTTING_DOWN', 'the device pool is closed');
    let resolve: () => void = () => undefined;
    this.held.set(id, new Promise<void>((r) => (resolve = r)));
    const done = (): void => {
      this.held.delete(id);
      resolve();
      // The hold's slot under the cap is free again.
      this.host.wake();
    };
    try {
      await this.host.closeOwn(id);
      this.host.checkQuarantine(id);
      // The holder works on the files directly (compaction, the apply worker open them):
      // recorded like an open, and left open in the record when it fails (the files stay
      // suspect for the next start). Made durable off the event loop (a synchronous
      // fdatasync per hold would stall the main thread).
      const recording = this.host.inUse?.record(id);
      if (recording !== undefined) await recording;
      this.host.inUse?.opened(id);
    } catch (err) {
      done();
      throw err;
    }
    if (opensInstance) this.host.countOpen(id);
    return done;
  }
}
