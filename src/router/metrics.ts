/**
 * The router's own Prometheus series (sync batches and their records) on top of the
 * shared base registry (src/http/metrics.ts); no gateway series.
 */
import { Counter } from 'prom-client';
import { ProcessMetrics } from '../http/metrics.js';

/** All metrics of one router. */
export class RouterMetrics extends ProcessMetrics {
  /** Sync batches by result (`ok`, `partial` or the refusing error code). */
  readonly batches: Counter<'result'>;
  /** Records of accepted batches by outcome (`applied`, `duplicate`). */
  readonly records: Counter<'outcome'>;

  constructor(codecKind: string) {
    super(codecKind);
    const registers = [this.registry];
    this.batches = new Counter({ name: 'lmj_router_batches_total', help: 'Sync batches by result', labelNames: ['result'], registers });
    this.records = new Counter({ name: 'lmj_router_records_total', help: 'Records in accepted batches by outcome', labelNames: ['outcome'], registers });
  }
}
