/**
 * Where a QoS 1 message's time goes on its way to the PUBACK (journal on), as Prometheus
 * histograms: `lmj_ingest_ack_stage_seconds{stage}` per journaled cut (admission wait,
 * queue, prepare, journal, hand-off; see `AckStages` in ./ingest/types.ts) and
 * `lmj_journal_group_seconds{phase}` per durable journal group (wait for the writer,
 * write, fdatasync), plus the records per group. docs/daemon.md, *Where the ack latency goes*.
 */
import { Histogram, type Registry } from 'prom-client';
import type { GroupTiming } from './journal/index.js';
import type { AckStages, IngestHooks } from './ingest/types.js';

const BUCKETS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** The ack-path histograms and the ingest hooks that feed them. */
export class AckMetrics {
  private readonly stage: Histogram<'stage'>;
  private readonly group: Histogram<'phase'>;
  private readonly groupRecords: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.stage = new Histogram({
      name: 'lmj_ingest_ack_stage_seconds',
      help: 'Journal on: time of each stage between submit and ack, per journaled cut (admission: per waiting message)',
      labelNames: ['stage'],
      buckets: BUCKETS,
      registers,
    });
    this.group = new Histogram({
      name: 'lmj_journal_group_seconds',
      help: 'Journal on: per durable journal group, the wait for the writer, the write and the fdatasync',
      labelNames: ['phase'],
      buckets: BUCKETS,
      registers,
    });
    this.groupRecords = new Histogram({
      name: 'lmj_journal_group_records',
      help: 'Journal on: records per durable journal group (one fdatasync each)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
  }

  /** The hooks to merge into the pipeline's (`ackStages`, `journalGroup`, `admissionWait`). */
  hooks(): Pick<IngestHooks, 'ackStages' | 'journalGroup' | 'admissionWait'> {
    return {
      ackStages: (s: AckStages) => {
        this.stage.observe({ stage: 'queue' }, s.queueMs / 1000);
        this.stage.observe({ stage: 'prepare' }, s.prepareMs / 1000);
        this.stage.observe({ stage: 'journal' }, s.journalMs / 1000);
        this.stage.observe({ stage: 'handoff' }, s.handOffMs / 1000);
      },
      journalGroup: (t: GroupTiming) => {
        this.group.observe({ phase: 'wait' }, t.waitMs / 1000);
        this.group.observe({ phase: 'write' }, t.writeMs / 1000);
        this.group.observe({ phase: 'fdatasync' }, t.syncMs / 1000);
        this.groupRecords.observe(t.records);
      },
      admissionWait: (ms: number) => this.stage.observe({ stage: 'admission' }, ms / 1000),
    };
  }
}
