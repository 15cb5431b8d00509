/**
 * Per-message counts kept as plain numbers and handed to their prom-client counter only
 * when it is read (a scrape, `registry.getMetricsAsJSON()`). A labelled `Counter.inc`
 * hashes its label object on every call, which the daemon paid several times per
 * message (`lmj_messages_in_total`, `lmj_messages_acked_total`, the results); a tally
 * costs one addition. What a scrape reports is the same.
 */
import type { Counter } from 'prom-client';

/** Counts for one counter, keyed by a label value that is already a string. */
export class Tally<L extends string> {
  private readonly pending = new Map<string, number>();

  /**
   * @param counter the counter the counts go to
   * @param labelsOf the counter's labels for a key (called at read time only)
   */
  constructor(
    counter: Counter<L>,
    private readonly labelsOf: (key: string) => Partial<Record<L, string>>,
  ) {
    // prom-client calls `collect` before every read of the counter.
    (counter as unknown as { collect: () => void }).collect = () => {
      for (const [key, n] of this.pending) if (n > 0) counter.inc(this.labelsOf(key), n);
      this.pending.clear();
    };
  }

  /** Adds `n` (default 1) under `key`. */
  add(key: string, n = 1): void {
    this.pending.set(key, (this.pending.get(key) ?? 0) + n);
  }
}
