/**
 * The copy throttle of range moves (docs/cluster.md, The driver): one byte budget per
 * second shared by every move a driver runs at once, so N concurrent moves copy at the
 * router's `--move-rate` in total, not N times it. Each copied chunk books its bytes on
 * one shared clock and waits until the budget has paid for them.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A bytes-per-second budget shared by its callers (0 = unthrottled). */
export class ByteThrottle {
  /** When the bytes booked so far have been paid for, ms since the epoch. */
  private paidUntil = 0;

  constructor(readonly rateBytesPerSec: number) {}

  /** Books `bytes` just copied; resolves once the shared budget covers them. */
  async pace(bytes: number): Promise<void> {
    if (this.rateBytesPerSec <= 0 || bytes <= 0) return;
    const now = Date.now();
    // An idle budget is not saved up: booking starts from now, so a burst is at most one chunk.
    this.paidUntil = Math.max(this.paidUntil, now) + (bytes / this.rateBytesPerSec) * 1000;
    if (this.paidUntil > now) await sleep(this.paidUntil - now);
  }
}
