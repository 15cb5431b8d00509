/**
 * Admission to the ingest pipeline: the one place that decides back-pressure. A
 * message enters once the downstream gate (the sync outbox's budget, when syncing) lets
 * it through and the queue has room for it (count and bytes); it leaves when its result
 * is final, waking whoever waits for room.
 */

/** Limits and callbacks of an {@link Admission}. */
export interface AdmissionOptions {
  maxMessages: number;
  maxBytes: number;
  /** Waits while a downstream budget is exceeded (sync outbox); absent = never waits. */
  gate?: () => Promise<void>;
  /** Called once per message that had to wait for queue room. */
  onWait(): void;
}

/** Bounded admission with back-pressure. */
export class Admission {
  private count = 0;
  private bytes = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: AdmissionOptions) {}

  /** Messages admitted and not yet left. */
  get pending(): number {
    return this.count;
  }

  /** Their held bytes. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * Admits `held` bytes: synchronously (returns undefined) when there is no gate and
   * the queue has room, so a submit is queued in the caller's turn; otherwise a promise
   * that resolves once the gate, then queue room, let it in.
   */
  enter(held: number): Promise<void> | undefined {
    if (this.opts.gate === undefined && this.fits(held)) {
      this.take(held);
      return undefined;
    }
    return this.enterWaiting(held);
  }

  private async enterWaiting(held: number): Promise<void> {
    if (this.opts.gate !== undefined) await this.opts.gate();
    let waited = false;
    while (!this.fits(held)) {
      if (!waited) {
        waited = true;
        this.opts.onWait();
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.take(held);
  }

  private fits(held: number): boolean {
    // One message always fits, however large, so an oversized one cannot block forever.
    return this.count < this.opts.maxMessages && (this.count === 0 || this.bytes + held <= this.opts.maxBytes);
  }

  private take(held: number): void {
    this.count++;
    this.bytes += held;
  }

  /** A message admitted with `held` bytes has its final result: frees its room. */
  leave(held: number): void {
    this.count--;
    this.bytes -= held;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
