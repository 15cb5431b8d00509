/** Counting work and enforcing a query's limits while it runs. */
import { LmjError } from '../errors.js';
import type { QueryLimits, QueryStats } from './types.js';

/** Stats plus the checks that stop a query at its limits. */
export class Budget {
  readonly stats: QueryStats = { instances: 0, rowsScanned: 0, valuesRead: 0, rowsWritten: 0 };
  private readonly deadline: number;

  constructor(readonly limits: QueryLimits) {
    this.deadline = Date.now() + limits.timeoutMs;
  }

  /** Counts one visited row; every 1024 rows also checks the clock. */
  row(): void {
    const n = ++this.stats.rowsScanned;
    if (n > this.limits.maxScanned) {
      throw new LmjError('QUERY_LIMIT', `query visited more than ${this.limits.maxScanned} rows; narrow the device set or ts range`, {
        details: { limit: 'maxScanned', value: this.limits.maxScanned },
      });
    }
    if ((n & 1023) === 0) this.clock();
  }

  /** Counts `n` rows visited at once (a native aggregate call), then checks the clock. */
  rows(n: number): void {
    this.stats.rowsScanned += n;
    if (this.stats.rowsScanned > this.limits.maxScanned) {
      this.stats.rowsScanned -= 1;
      this.row();
    }
    this.clock();
  }

  /** Throws QUERY_LIMIT once the time budget is spent. */
  clock(): void {
    if (Date.now() > this.deadline) {
      throw new LmjError('QUERY_LIMIT', `query ran longer than ${this.limits.timeoutMs} ms`, {
        details: { limit: 'timeoutMs', value: this.limits.timeoutMs },
      });
    }
  }

  /** Throws QUERY_LIMIT when more than maxGroups groups or buffered rows are held. */
  held(n: number, what: string): void {
    if (n > this.limits.maxGroups) {
      throw new LmjError('QUERY_LIMIT', `query holds more than ${this.limits.maxGroups} ${what}; add a LIMIT or coarser grouping`, {
        details: { limit: 'maxGroups', value: this.limits.maxGroups },
      });
    }
  }
}
