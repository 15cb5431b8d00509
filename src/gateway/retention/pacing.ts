/**
 * Pacing of retention's delete transactions (a duty cycle). Each transaction costs the
 * event loop (its callback runs on the main thread), the disk (its commit's fsyncs) and
 * one of libuv's threadpool slots that every device's commit shares. Run back to back,
 * the trim took three quarters of the other devices' ingest rate (docs/retention.md,
 * Measurements); after a transaction that took `busyMs`, the runner waits so that its
 * transactions fill at most `dutyPercent` % of the wall time.
 */

/** Default share of wall time the trim's delete transactions may fill, percent. */
export const DEFAULT_DUTY_PERCENT = 20;

/** The pause after a transaction that took `busyMs`, so busy / (busy + pause) = dutyPercent %. */
export function pauseAfter(busyMs: number, dutyPercent: number): number {
  if (dutyPercent >= 100 || !(busyMs > 0)) return 0;
  return (busyMs * (100 - dutyPercent)) / dutyPercent;
}
