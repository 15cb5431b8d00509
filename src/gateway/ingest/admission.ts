/**
 * Admission to the ingest pipeline: the one place that decides back-pressure. A
 * message enters once the downstream gate lets it through (the sync outbox's budget
 * when syncing; with the journal, its byte budget and the apply backlog) and the queue
 * has room for it (count and bytes); it leaves when its result is final, waking
 * whoever waits for room.
 */

/** Limits and callbacks of an {@link Admission}. */
export interface AdmissionOptions {
  maxMessages: number;
  maxBytes: number;
  /**
   * Called once per message: undefined when every downstream budget has room now, else a
   * promise that resolves when the message may go on. Absent = never waits.
   */
  gate?: () => Promise<void> | undefined;
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
    const gated = this.opts.gate?.();
    if (gated === undefined && this.fits(held)) {
      this.take(held);
      return undefined;
    }
    return this.enterWaiting(held, gated);
  }

  private async enterWaiting(held: number, gated: Promise<void> | undefined): Promise<void> {
    if (gated !== undefined) await gated;
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

/** A downstream gate: undefined when it has room now, else a promise resolving when it has. */
export type Gate = () => Promise<void> | undefined;

/** All gates at once (undefined when there are none). */
export function combineGates(gates: readonly Gate[]): Gate | undefined {
  if (gates.length <= 1) return gates[0];
  return () => {
    const waits = gates.map((g) => g()).filter((w): w is Promise<void> => w !== undefined);
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  };
}

/**
 * The journal's gate: waits while the journal is over its byte budget, and while the
 * apply backlog (journaled, not yet in the devices, held flattened in memory) has
 * `maxBacklog` messages or more.
 */
export function journalGate(
  journal: { overBudget(): boolean; waitForSpace(): Promise<void> },
  applier: { room(limit: number): Promise<void> | undefined },
  maxBacklog: number,
): Gate {
  return () => (journal.overBudget() ? journal.waitForSpace() : applier.room(maxBacklog));
}
