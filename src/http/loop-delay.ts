/**
 * The event loop's delay as a Prometheus histogram (`lmj_event_loop_delay_seconds`):
 * a timer re-armed every {@link SAMPLE_MS} ms records how late it fired. A late timer
 * is exactly what a late fdatasync completion or PUBACK write sees, so the histogram
 * shows how long synchronous main-thread work (a big flatten, an LMDB transaction
 * callback, a GC pause, a socket read parsed in one go) holds everything else up.
 * Cumulative since start, unlike prom-client's default `nodejs_eventloop_lag_*` gauges,
 * which are reset at every scrape: two scrapes give the delays between them.
 */
import { performance } from 'node:perf_hooks';
import { Histogram, type Registry } from 'prom-client';

/** Sampling period, ms: short enough to see a 10 ms stall, cheap enough to leave on (~200 wake-ups/s). */
export const SAMPLE_MS = 5;

/**
 * Registers the histogram on `registry` and starts sampling (the timer does not keep the
 * process alive); the returned function stops it (a stopped daemon, or a test process
 * that makes many, leaves no timer waking 200 times a second).
 */
export function registerLoopDelay(registry: Registry): () => void {
  const histogram = new Histogram({
    name: 'lmj_event_loop_delay_seconds',
    help: `How late a ${SAMPLE_MS} ms timer fired: main-thread work that held the event loop`,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
  let due = performance.now() + SAMPLE_MS;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    histogram.observe(Math.max(0, now - due) / 1000);
    due = now + SAMPLE_MS;
    timer = setTimeout(tick, SAMPLE_MS).unref();
  };
  timer = setTimeout(tick, SAMPLE_MS).unref();
  return () => clearTimeout(timer);
}
