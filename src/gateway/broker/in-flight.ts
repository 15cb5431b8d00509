/** Counting promises in flight, and waiting until none is. */

/** A counter of unsettled promises with an idle wait. */
export class InFlight {
  private n = 0;
  private idleWaiters: (() => void)[] = [];

  /** Promises tracked and not yet settled. */
  get count(): number {
    return this.n;
  }

  /** Tracks `p` until it settles (fulfilled or rejected); returns `p` unchanged. */
  track<T>(p: Promise<T>): Promise<T> {
    this.n++;
    const settle = (): void => {
      this.n--;
      if (this.n === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const fn of w) fn();
      }
    };
    p.then(settle, settle);
    return p;
  }

  /** Resolves once nothing is in flight (at once when nothing is). */
  idle(): Promise<void> {
    if (this.n === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
