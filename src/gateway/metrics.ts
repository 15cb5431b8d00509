/**
 * The gateway's own Prometheus series (MQTT, ingest, pool, dead letters) on top of the
 * shared base registry (src/http/metrics.ts). {@link GatewayMetrics.ingestHooks} plugs
 * straight into the ingest pipeline's hooks.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { ProcessMetrics } from '../http/metrics.js';
import type { AclDenyReason } from './broker/acl.js';
import { Tally } from './metrics-tally.js';
import { AckMetrics } from './metrics-ack.js';
import { registerLoopDelay } from '../http/loop-delay.js';
import type { CommitBatchInfo, IngestHooks, IngestResult, IngestStats, InboundMessage } from './ingest/types.js';

/** Where a message came in. */
export type Transport = 'embedded' | 'external';

/** Why a message was dropped before reaching ingest (load shedding, limits). */
export type ShedReason =
  | 'overloaded'
  | 'max_connections'
  | 'packet_too_large'
  | 'connect_queue_full'
  | 'subscribe_refused'
  | 'auth_failed';

/** Tally keys of `lmj_messages_in_total` per transport and QoS, made once. */
const IN_KEYS = { embedded: ['embedded0', 'embedded1', 'embedded2'], external: ['external0', 'external1', 'external2'] } as const;

/** All metrics of one gateway daemon. */
export class GatewayMetrics extends ProcessMetrics {
  private readonly messagesIn: Counter<'transport' | 'qos'>;
  private readonly acked: Counter<'transport'>;
  private readonly results: Counter<'status'>;
  private readonly rejected: Counter<'reason'>;
  private readonly shed: Counter<'reason'>;
  private readonly commitMessages: Histogram;
  private readonly commitDevices: Histogram;
  private readonly commitLatency: Histogram;
  private readonly poolOpens: Counter;
  private readonly poolEvictions: Counter;
  private readonly quarantines: Counter;
  private readonly backpressure: Counter;
  private readonly deadLettersDropped: Counter;
  private readonly connections: Gauge<'transport'>;
  private readonly applyLag: Histogram;
  private readonly aclDeniedTotal: Counter<'reason'>;
  private readonly readPauses: Counter<'transport'>;
  private statsSource: (() => IngestStats) | undefined;
  /** The per-message counters, tallied and added at read time (./metrics-tally.ts). */
  private readonly inTally: Tally<'transport' | 'qos'>;
  private readonly ackTally: Tally<'transport'>;
  private readonly resultTally: Tally<'status'>;
  private readonly rejectTally: Tally<'reason'>;
  private readonly ack: AckMetrics;
  private readonly stopLoopDelay: () => void;

  constructor(codecKind: string) {
    super(codecKind);
    const registers = [this.registry];
    this.ack = new AckMetrics(this.registry);
    this.stopLoopDelay = registerLoopDelay(this.registry);
    this.messagesIn = new Counter({
      name: 'lmj_messages_in_total',
      help: 'MQTT publications received on telemetry/meta topics',
      labelNames: ['transport', 'qos'],
      registers,
    });
    this.acked = new Counter({
      name: 'lmj_messages_acked_total',
      help: 'QoS 1 PUBACKs sent, each after the message was durably journaled, committed or dead-lettered',
      labelNames: ['transport'],
      registers,
    });
    this.results = new Counter({
      name: 'lmj_messages_results_total',
      help: 'Ingest results by status (accepted = journaled and acked; then stored, duplicate, meta, rejected)',
      labelNames: ['status'],
      registers,
    });
    this.rejected = new Counter({
      name: 'lmj_messages_rejected_total',
      help: 'Rejected (dead-lettered) messages by reason code',
      labelNames: ['reason'],
      registers,
    });
    this.shed = new Counter({
      name: 'lmj_messages_shed_total',
      help: 'Messages or connections dropped before ingest to bound memory, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.commitMessages = new Histogram({
      name: 'lmj_commit_batch_messages',
      help: 'Messages per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
    });
    this.commitDevices = new Histogram({
      name: 'lmj_commit_batch_devices',
      help: 'Devices per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.commitLatency = new Histogram({
      name: 'lmj_commit_latency_seconds',
      help: 'From the first message of a group to its durable commit',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.poolOpens = new Counter({ name: 'lmj_pool_opens_total', help: 'Device instances opened', registers });
    this.poolEvictions = new Counter({
      name: 'lmj_pool_evictions_total',
      help: 'Device instances closed to stay within the file-descriptor budget',
      registers,
    });
    this.quarantines = new Counter({
      name: 'lmj_instances_quarantined_total',
      help: 'Device instances quarantined (failed verification after an unclean stop; counted again at each start while quarantined)',
      registers,
    });
    this.backpressure = new Counter({
      name: 'lmj_ingest_backpressure_total',
      help: 'Times a submit waited for ingest queue capacity',
      registers,
    });
    this.deadLettersDropped = new Counter({
      name: 'lmj_deadletters_dropped_total',
      help: 'Oldest dead letters dropped to stay within the dead-letter budget',
      registers,
    });
    this.connections = new Gauge({
      name: 'lmj_mqtt_connections',
      help: 'Open MQTT connections (embedded clients, or external subscriber links)',
      labelNames: ['transport'],
      registers,
    });
    this.applyLag = new Histogram({
      name: 'lmj_ingest_apply_lag_seconds',
      help: 'Journal on: from a message\'s ack (journaled) to readable (applied to its device)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1, 2, 5, 10],
      registers,
    });
    this.aclDeniedTotal = new Counter({
      name: 'lmj_mqtt_acl_denied_total',
      help: 'Publishes refused by the MQTT ACL (another device\'s topic, or a user mapped to no device), dead-lettered as ACL_DENIED',
      labelNames: ['reason'],
      registers,
    });
    this.readPauses = new Counter({
      name: 'lmj_mqtt_read_pauses_total',
      help: 'Times a connection stopped being read because its messages in flight reached the bound',
      labelNames: ['transport'],
      registers,
    });
    this.inTally = new Tally(this.messagesIn, (key) => ({ transport: key.slice(0, -1), qos: key.slice(-1) }));
    this.ackTally = new Tally(this.acked, (transport) => ({ transport }));
    this.resultTally = new Tally(this.results, (status) => ({ status }));
    this.rejectTally = new Tally(this.rejected, (reason) => ({ reason }));
    const stats = (): IngestStats | undefined => this.statsSource?.();
    const journalGauge = (name: string, help: string, pick: (j: NonNullable<IngestStats['journal']>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const j = stats()?.journal;
          if (j !== undefined) this.set(pick(j));
        },
      });
    };
    journalGauge('lmj_journal_bytes', 'Bytes of the write-ahead journal\'s segments', (j) => j.bytes);
    journalGauge('lmj_journal_apply_backlog_messages', 'Journaled messages not yet applied to their devices', (j) => j.applyBacklog);
    journalGauge('lmj_journal_replayed_records', 'Journal records replayed (applied again) at start', (j) => j.replayed);
    new Gauge({
      name: 'lmj_pool_open_instances',
      help: 'Device instances open right now',
      registers,
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.pool.open);
      },
    });
    new Gauge({
      name: 'lmj_ingest_pending_messages',
      help: 'Messages accepted by ingest and not yet committed',
      registers,
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.pending);
      },
    });
  }

  /** Lets gauges read the pipeline's live counters at scrape time. */
  setStatsSource(fn: () => IngestStats): void {
    this.statsSource = fn;
  }

  /** Hooks for `createIngestor({hooks})`. */
  ingestHooks(extra: Partial<IngestHooks> = {}): IngestHooks {
    return {
      ...extra,
      ...this.ack.hooks(),
      result: (result: IngestResult, msg: InboundMessage) => {
        this.resultTally.add(result.status);
        if (result.status === 'rejected') this.rejectTally.add(result.code);
        extra.result?.(result, msg);
      },
      commit: (info: CommitBatchInfo) => {
        this.commitMessages.observe(info.messages);
        this.commitDevices.observe(info.devices);
        this.commitLatency.observe(info.latencyMs / 1000);
        extra.commit?.(info);
      },
      applyLag: (ms: number) => {
        this.applyLag.observe(ms / 1000);
        extra.applyLag?.(ms);
      },
      poolOpen: (deviceId: string) => {
        this.poolOpens.inc();
        extra.poolOpen?.(deviceId);
      },
      poolEvict: (deviceId: string) => {
        this.poolEvictions.inc();
        extra.poolEvict?.(deviceId);
      },
      quarantined: (deviceId: string, reason: string) => {
        this.quarantines.inc();
        extra.quarantined?.(deviceId, reason);
      },
      backpressure: () => {
        this.backpressure.inc();
        extra.backpressure?.();
      },
      deadLettersDropped: (count: number) => {
        this.deadLettersDropped.inc(count);
        extra.deadLettersDropped?.(count);
      },
    };
  }

  /** A publication arrived on an ingest topic. */
  messageIn(transport: Transport, qos: number): void {
    // Key = transport ‖ the one-digit QoS (0..2): no label object per message.
    this.inTally.add(transport === 'embedded' ? IN_KEYS.embedded[qos] ?? `embedded${qos}` : IN_KEYS.external[qos] ?? `external${qos}`);
  }

  /** A PUBACK went out after commit. */
  ackSent(transport: Transport): void {
    this.ackTally.add(transport);
  }

  /** Something (`count` things) was dropped before ingest. */
  shedOne(reason: ShedReason, count = 1): void {
    this.shed.inc({ reason }, count);
  }

  /** A publish was refused by the MQTT ACL (src/gateway/broker/acl.ts). */
  aclDenied(reason: AclDenyReason): void {
    this.aclDeniedTotal.inc({ reason });
  }

  /** Stops the event-loop delay sampler (the daemon's stop; the registry stays readable). */
  close(): void {
    this.stopLoopDelay();
  }

  /** A connection stopped being read at its in-flight bound (flow control). */
  readPaused(transport: Transport): void {
    this.readPauses.inc({ transport });
  }

  /** Connection count changed. */
  connectionDelta(transport: Transport, delta: number): void {
    this.connections.inc({ transport }, delta);
  }
}
