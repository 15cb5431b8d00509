/**
 * A log-bucketed latency histogram (2 % relative precision) so a long run at thousands
 * of messages per second keeps constant memory; min, max and count stay exact.
 */

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets cover 1 µs … ~1000 s. */
const BUCKETS = Math.ceil(Math.log(1e9) / LOG_GROWTH) + 2;

/** Quantiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Records durations (ms) and answers quantiles. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private maxMs = 0;

  /** Adds one duration in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const us = Math.max(0, ms * 1000);
    const b = us < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(us) / LOG_GROWTH));
    this.counts[b]!++;
    this.n++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Number of recorded durations. */
  get count(): number {
    return this.n;
  }

  /** The q-quantile (0..1) in ms, nearest rank; the bucket's geometric middle, capped at max. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) {
        if (b === 0) return 0;
        const lowUs = GROWTH ** (b - 1);
        return Math.min(this.maxMs, (lowUs * Math.sqrt(GROWTH)) / 1000);
      }
    }
    return this.maxMs;
  }

  /** p50/p95/p99/max rounded to µs. */
  summary(): LatencySummary {
    const r = (v: number): number => Math.round(v * 1000) / 1000;
    return { count: this.n, p50: r(this.quantile(0.5)), p95: r(this.quantile(0.95)), p99: r(this.quantile(0.99)), max: r(this.maxMs) };
  }
}
