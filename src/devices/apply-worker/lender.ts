/**
 * The apply worker's side of its loans ({@link DevicePool.lend}): per pool and device,
 * the loan under which the worker thread keeps the instance open across groups, the group
 * in flight, and the idle timer that gives an unused instance back. A give-back (asked by
 * the pool, or idle) waits for the group in flight, has the thread close the instance,
 * then ends the loan; a thread that ended ends its loans as lost (the instance stays
 * suspect in the in-use log).
 */
import type { Borrower, DevicePool, Loan } from '../pool/types.js';

/** One device lent to the worker. */
export interface Lent {
  readonly pool: DevicePool;
  readonly deviceId: string;
  /** Resolves once the pool lent the device. */
  readonly ready: Promise<Lent>;
  /** Set when {@link ready} resolved. */
  loan: Loan;
  /** The group in flight. */
  current: Promise<unknown> | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Set once a give-back started. */
  giving: Promise<void> | undefined;
  ended: boolean;
}

/** What the lender needs of the worker client. */
export interface LenderOptions {
  idleMs: number;
  /** Has the thread close the instance in `dir` (resolves once it is closed or the thread is gone). */
  close(dir: string): Promise<void>;
}

/** The worker's loans, across the pools it applies for. */
export class Lender {
  private readonly byPool = new Map<DevicePool, Map<string, Lent>>();
  /** Loans taken. */
  loans = 0;

  constructor(private readonly opts: LenderOptions) {}

  /** Instances lent to the worker now. */
  get size(): number {
    let n = 0;
    for (const m of this.byPool.values()) for (const l of m.values()) if (!l.ended) n++;
    return n;
  }

  /** The device's loan: the one in force, else a new one (after a give-back in progress). */
  async borrow(pool: DevicePool, deviceId: string): Promise<Lent> {
    let map = this.byPool.get(pool);
    if (map === undefined) this.byPool.set(pool, (map = new Map()));
    for (let cur = map.get(deviceId); cur !== undefined; cur = map.get(deviceId)) {
      const l = await cur.ready.catch(() => undefined);
      if (l !== undefined && !l.ended && l.giving === undefined) return l;
      if (l?.giving !== undefined) await l.giving;
      // A failed lend removed itself; an ended loan too.
      if (map.get(deviceId) === cur && (l === undefined || l.ended)) map.delete(deviceId);
    }
    const lent = this.start(pool, deviceId);
    map.set(deviceId, lent);
    try {
      return await lent.ready;
    } catch (err) {
      if (map.get(deviceId) === lent) map.delete(deviceId);
      throw err;
    }
  }

  private start(pool: DevicePool, deviceId: string): Lent {
    const borrower: Borrower = { giveBack: () => this.giveBack(lent), busy: () => lent.current !== undefined };
    const lent: Lent = {
      pool, deviceId, loan: undefined as unknown as Loan, current: undefined, timer: undefined, giving: undefined, ended: false,
      ready: pool.lend(deviceId, borrower).then((loan) => {
        lent.loan = loan;
        this.loans++;
        return lent;
      }),
    };
    return lent;
  }

  /** Runs one group on the lent instance; re-arms the idle timer after it. */
  async use<T>(lent: Lent, fn: () => Promise<T>): Promise<T> {
    clearTimeout(lent.timer);
    const p = fn();
    lent.current = p;
    try {
      return await p;
    } finally {
      lent.current = undefined;
      if (!lent.ended && lent.giving === undefined) {
        lent.timer = setTimeout(() => void this.giveBack(lent), this.opts.idleMs);
        lent.timer.unref();
      }
    }
  }

  /** Gives the instance back: after the group in flight, the thread closes it, the loan ends. Once per loan. */
  giveBack(lent: Lent): Promise<void> {
    lent.giving ??= (async () => {
      await lent.ready;
      clearTimeout(lent.timer);
      while (lent.current !== undefined) await lent.current.catch(() => undefined);
      if (lent.ended) return;
      try {
        await this.opts.close(lent.loan.dir);
        this.ended(lent, true);
      } catch {
        // The close failed in the thread: nothing holds the files any more, but they stay suspect.
        this.ended(lent, false);
      }
    })();
    return lent.giving;
  }

  /** The loan ends: `closed` when the thread closed the instance, false when it was lost with the thread. */
  ended(lent: Lent, closed: boolean): void {
    if (lent.ended) return;
    lent.ended = true;
    clearTimeout(lent.timer);
    const map = this.byPool.get(lent.pool);
    if (map?.get(lent.deviceId) === lent) map.delete(lent.deviceId);
    lent.loan.end(closed);
  }

  /** The thread ended: every instance it had open went with it. */
  lostAll(): void {
    for (const map of this.byPool.values()) for (const l of [...map.values()]) if (l.loan !== undefined) this.ended(l, false);
  }

  /** Gives every loan back (the worker is closing). */
  async giveBackAll(): Promise<void> {
    const all = [...this.byPool.values()].flatMap((m) => [...m.values()]);
    await Promise.all(all.map((l) => l.ready.then(() => this.giveBack(l), () => undefined)));
  }
}
