/**
 * Devices the pool has lent out ({@link DevicePool.lend}): their instance is open in a
 * borrower that opened the files itself (the device-apply worker keeps a hot device's
 * instance open across its groups) and gives it back — closes it — when asked. The pool
 * asks when it needs the device (a read, an exclusive hold, invalidate, quarantine,
 * close) or a slot under its cap (an idle loan is recalled like an idle instance is
 * evicted). Only the bookkeeping lives here; the hold itself is the pool's exclusive
 * hold of the device (./pool.ts), which a loan keeps until the borrower ends it.
 */
import type { Borrower } from './types.js';

interface Lent {
  borrower: Borrower;
  /** Set once the pool asked for the instance back. */
  recalled: boolean;
}

/** The loans of one pool, oldest first. */
export class Loans {
  private readonly out = new Map<string, Lent>();
  /** Recalls asked (a read, a hold, an eviction, …). */
  recalls = 0;

  get size(): number {
    return this.out.size;
  }

  /** True when `id` is lent and not asked back (its instance is open in the borrower). */
  isLent(id: string): boolean {
    const l = this.out.get(id);
    return l !== undefined && !l.recalled;
  }

  isRecalled(id: string): boolean {
    return this.out.get(id)?.recalled === true;
  }

  add(id: string, borrower: Borrower): void {
    this.out.set(id, { borrower, recalled: false });
  }

  remove(id: string): void {
    this.out.delete(id);
  }

  /** Asks the borrower of `id` to give it back (once); false when `id` is not lent. */
  recall(id: string): boolean {
    const l = this.out.get(id);
    if (l === undefined) return false;
    if (l.recalled) return true;
    l.recalled = true;
    this.recalls++;
    // The borrower ends the loan when it has closed the instance; a failure there is its to report.
    void l.borrower.giveBack().catch(() => undefined);
    return true;
  }

  /** True when some loan could be recalled to make room. */
  recallable(): boolean {
    for (const l of this.out.values()) if (!l.recalled) return true;
    return false;
  }

  /**
   * Recalls one loan to free a slot: the oldest idle one not to be kept, else the oldest
   * idle one, else the oldest busy one (its borrower gives it back after its current
   * use). Returns its id, undefined when every loan is being recalled already.
   */
  recallOne(keep: (id: string) => boolean): string | undefined {
    let idle: string | undefined;
    let busy: string | undefined;
    for (const [id, l] of this.out) {
      if (l.recalled) continue;
      if (l.borrower.busy()) {
        busy ??= id;
        continue;
      }
      if (!keep(id)) {
        idle = id;
        break;
      }
      idle ??= id;
    }
    const victim = idle ?? busy;
    if (victim !== undefined) this.recall(victim);
    return victim;
  }

  /** Recalls every loan; returns their ids. */
  recallAll(): string[] {
    const ids = [...this.out.keys()];
    for (const id of ids) this.recall(id);
    return ids;
  }
}
