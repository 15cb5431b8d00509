/**
 * Failed-authentication limiter per remote address: after `maxFailures` failures within
 * one window of `windowMs`, every request from that address answers 429 until the
 * window ends. Memory is bounded: at most `maxAddresses` addresses are tracked (expired
 * windows are swept first, then the oldest entry goes), so a flood from many addresses
 * cannot grow it.
 */

/** Limits of {@link AuthFailureLimiter}. */
export interface AuthRateLimit {
  /** Failures allowed per address and window (default 10). */
  maxFailures?: number;
  /** Window length, ms (default 60 000). */
  windowMs?: number;
  /** Most addresses tracked at once (default 10 000). */
  maxAddresses?: number;
}

interface Window {
  startedAt: number;
  failures: number;
}

/** Counts failures per address in fixed windows. */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;

  constructor(limits: AuthRateLimit = {}) {
    this.maxFailures = limits.maxFailures ?? 10;
    this.windowMs = limits.windowMs ?? 60_000;
    this.maxAddresses = limits.maxAddresses ?? 10_000;
  }

  /** Seconds until `address` may try again, or 0 when it is not blocked. */
  blockedFor(address: string, now: number): number {
    const w = this.windows.get(address);
    if (w === undefined || w.failures < this.maxFailures) return 0;
    const left = w.startedAt + this.windowMs - now;
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  /** Records one failed authentication from `address`. */
  fail(address: string, now: number): void {
    let w = this.windows.get(address);
    if (w !== undefined && now - w.startedAt >= this.windowMs) {
      this.windows.delete(address);
      w = undefined;
    }
    if (w === undefined) {
      if (this.windows.size >= this.maxAddresses) this.evict(now);
      w = { startedAt: now, failures: 0 };
      this.windows.set(address, w);
    }
    w.failures++;
  }

  /** Addresses tracked now (for tests and bounds). */
  get tracked(): number {
    return this.windows.size;
  }

  private evict(now: number): void {
    for (const [addr, w] of this.windows) {
      if (now - w.startedAt >= this.windowMs) this.windows.delete(addr);
    }
    // Still full: forget the oldest window (Map keeps insertion order).
    if (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) this.windows.delete(oldest.value);
    }
  }
}
