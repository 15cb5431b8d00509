/**
 * Prometheus series of `POST /query` (gateway, router): queries by outcome, rows
 * returned and query time. Registered on the process's own registry.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** The query endpoint's series. */
export class QueryMetrics {
  /** Queries by outcome: `ok`, `partial` (router: some node failed) or the error code. */
  readonly queries: Counter<'outcome'>;
  /** Rows in answers sent. */
  readonly rows: Counter;
  /** Wall time from request to answer ready (before streaming), seconds. */
  readonly duration: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.queries = new Counter({ name: 'lmj_query_total', help: 'SQL queries (POST /query) by outcome', labelNames: ['outcome'], registers });
    this.rows = new Counter({ name: 'lmj_query_rows_total', help: 'Rows returned by POST /query', registers });
    this.duration = new Histogram({
      name: 'lmj_query_duration_seconds',
      help: 'POST /query time until the answer is ready',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    });
  }
}
