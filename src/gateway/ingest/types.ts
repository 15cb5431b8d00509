/**
 * The ingest pipeline's public API: what the MQTT front ends (`submit`), the HTTP API
 * (queries) and the CLI (wiring, drain) call. Implementation: ./ingestor.ts.
 */
import type { Codec, FlattenLimits } from '../../codec/types.js';
import type { Durability, LmjStore } from '../../core/types.js';
import type { ErrorCode, LmjError } from '../../errors.js';
import type { PoolStats } from '../../devices/pool/types.js';
import type { DeviceReader } from '../../devices/read-facade.js';
import type { DeadLetterPage, DeadLetterQuery } from '../dead-letters.js';
import type { ApplyWorker, ApplyWorkerStats } from '../../devices/apply-worker/index.js';
import type { GroupTiming, JournalStats } from '../journal/index.js';
import type { TopicParser, TopicTemplates } from '../topics.js';

/** One MQTT publication handed to the gateway. */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  /** Gateway receive time, Unix ms (default: when `submit` is called). */
  receivedAt?: number;
  clientId?: string;
  /** Refused by the front end before ingest (e.g. ACL_DENIED): dead-lettered with this code, never stored. */
  refused?: { code: ErrorCode; message: string };
}

/**
 * What happened to a message. Every variant is durable when `submit` resolves.
 * `accepted` (journal on only): the message is in the write-ahead journal (fdatasynced)
 * and will be applied to its device; its applied result (stored, duplicate, meta, or
 * rejected and dead-lettered) follows through the `result` hook.
 */
export type IngestResult =
  | { status: 'accepted'; deviceId: string }
  /** `readings`: the device's reading count right after the commit that stored it (an absolute count, for the outbox). */
  | { status: 'stored'; deviceId: string; ptr: string; ts: number; readings: number }
  | { status: 'duplicate'; deviceId: string; ptr: string }
  | { status: 'meta'; deviceId: string }
  /** Already dead-lettered durably (except SHUTTING_DOWN after close, which is not stored). */
  | { status: 'rejected'; code: ErrorCode; message: string; deviceId?: string };

/** One committed group (the device commits started together). */
export interface CommitBatchInfo {
  devices: number;
  messages: number;
  /** From the first message's `submit` to the group's durable commit. */
  latencyMs: number;
}

/** Optional callbacks (metrics, logs). All default to no-ops; a throwing hook is ignored. */
export interface IngestHooks {
  /**
   * Every result: once per submitted message; with the journal, its `accepted` result
   * and later its applied one (replayed messages report only the applied one).
   */
  result?(result: IngestResult, msg: InboundMessage): void;
  /** Journal on: a message became readable (applied), `ms` after it was accepted (acked). */
  applyLag?(ms: number): void;
  /** Each committed group. */
  commit?(info: CommitBatchInfo): void;
  /** A device instance was opened by the pool. */
  poolOpen?(deviceId: string): void;
  /** A device instance was closed to stay within the fd budget. */
  poolEvict?(deviceId: string): void;
  /** At start, after an unclean stop: the instances open when it happened, now being verified. */
  verifying?(deviceIds: readonly string[]): void;
  /** One of them verified: `ok`, or why it was quarantined (or could not be judged). */
  verified?(deviceId: string, status: 'ok' | 'corrupt' | 'unreadable', reason?: string): void;
  /** A device was quarantined (also, at start, each one quarantined by an earlier run). */
  quarantined?(deviceId: string, reason: string): void;
  /** A rejection or an internal failure, with the device when known (for logs). */
  error?(err: LmjError, context: { deviceId?: string; topic?: string; clientId?: string }): void;
  /** `submit` had to wait for queue capacity (back-pressure). */
  backpressure?(): void;
  /** Dead letters dropped (oldest first) to stay within the dead-letter budget. */
  deadLettersDropped?(count: number): void;
  /** Journal on: each journaled cut, where its time went between submit and resolve (the PUBACK follows). */
  ackStages?(stages: AckStages): void;
  /** Journal on: each durable journal group (write + one fdatasync). */
  journalGroup?(timing: GroupTiming): void;
  /** `submit` waited at admission (a downstream budget or the queue bound) for `ms`. */
  admissionWait?(ms: number): void;
}

/**
 * Journal on: one cut of submitted messages on its way to the ack (ms). `queueMs` (the
 * oldest's wait for the cut), `prepareMs` (validate + flatten, synchronous), `journalMs`
 * (append until durable: waiting for the writer's group, its write and its fdatasync, and
 * for the event loop to run the completion), `handOffMs` (the apply queues' enqueue and
 * the resolves, synchronous).
 */
export interface AckStages {
  messages: number;
  queueMs: number;
  prepareMs: number;
  journalMs: number;
  handOffMs: number;
}

/** Access to the pipeline's open device instances (what the sync layer reads through). */
export interface IngestDeviceAccess {
  withDevice<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>): Promise<T>;
}

/** The downstream the pipeline feeds: told of every stored reading, and gating admission. */
export interface IngestSync {
  /** A reading was durably stored; `readings`: the device's reading count after that commit. */
  onStored(deviceId: string, ts: number, readings?: number): void;
  /** Resolves when a new message may be admitted (waits while the downstream budget is exceeded). */
  admit(): Promise<void>;
}

/** Options of {@link Ingestor} creation. Only `dataDir` is required. */
export interface IngestOptions {
  /** Data directory: devices in `DIR/devices/<id>/`, gateway state in `DIR/gateway/`. */
  dataDir: string;
  /** Durability of every instance (default `safe`: resolved ⇒ fsynced). */
  durability?: Durability;
  /** Codec (default: `getCodec()`). */
  codec?: Codec;
  topics?: Partial<TopicTemplates>;
  /** Largest accepted payload in bytes (default 65,536) → PAYLOAD_TOO_LARGE. */
  maxPayloadBytes?: number;
  flattenLimits?: Partial<FlattenLimits>;
  batch?: {
    /** Most messages in one device commit, and per codec call (default 4,096). */
    maxMessages?: number;
    /** Longest wait before submitted messages are prepared and committed, ms (default 2). */
    maxDelayMs?: number;
    /** Devices committing at once (default 1,024; each device has at most one commit in flight). */
    maxInflight?: number;
  };
  /** Bound on accepted-but-unresolved messages; `submit` waits beyond it (back-pressure). */
  queue?: { maxMessages?: number; maxBytes?: number };
  pool?: {
    /** Most instances open at once (default: from RLIMIT_NOFILE, see pool docs). */
    maxOpen?: number;
    /** File descriptors kept free for sockets etc. (default max(128, 25% of the limit)). */
    fdHeadroom?: number;
    /** Initial map size per instance (default 1 MiB; grows on demand). */
    mapSize?: number;
  };
  deadLetters?: { maxCount?: number; maxBytes?: number };
  /**
   * Write-ahead journal in `DIR/gateway/journal` (absent: off). On: messages resolve
   * `accepted` once journaled, and are applied to their devices afterwards.
   */
  journal?: {
    /** Byte budget of the journal's segments (default 512 MiB). */
    maxBytes?: number;
    /** Segment size (default 32 MiB). */
    segmentBytes?: number;
    /** Device commits in flight while applying (default 4). */
    applyInFlight?: number;
    /** Journaled messages not yet applied before new messages wait for admission (default 100,000). */
    maxBacklog?: number;
    /** Queued messages past which new ones are held unflattened (default 8,192). */
    keepFlat?: number;
    /**
     * Device commits in a worker thread (src/devices/apply-worker/) instead of the main
     * thread: `true` = a worker of the pipeline's own (ended at close); an
     * {@link ApplyWorker} = that one, shared, owned by the caller. Default: off, unless
     * the environment sets `LMJ_EDGE_INGEST_APPLY_WORKER=on`.
     */
    applyWorker?: boolean | ApplyWorker;
  };
  hooks?: IngestHooks;
  /**
   * Asked before each message is admitted: a returned refusal rejects it at once, not
   * stored and not dead-lettered (e.g. DISK_FULL while the data directory is full).
   */
  refuse?(): { code: ErrorCode; message: string } | undefined;
  /**
   * Starts the downstream (upstream sync) over the pipeline's devices once they are
   * open; its `admit` gates every submit, its `onStored` hears every stored reading.
   */
  sync?(devices: IngestDeviceAccess): IngestSync;
}

/** Counters of the pipeline, monotonic since creation (gauges marked). */
export interface IngestStats {
  submitted: number;
  /** Journaled and acked, applied later (journal on). */
  accepted: number;
  stored: number;
  duplicates: number;
  meta: number;
  rejected: number;
  rejectedByCode: Partial<Record<ErrorCode, number>>;
  commits: number;
  backpressureWaits: number;
  /** Gauge: accepted messages not yet resolved. */
  pending: number;
  /** Gauge: their payload bytes. */
  pendingBytes: number;
  deadLettersDropped: number;
  pool: PoolStats;
  /** Journal on: its counters, the apply backlog (gauge) and the records replayed at start. */
  /** `applying`: device commits in flight now. */
  journal?: JournalStats & { applyBacklog: number; applying: number; replayed: number; worker?: ApplyWorkerStats };
}

/** The ingest pipeline plus the read side the HTTP API and CLI use. */
export interface Ingestor extends DeviceReader {
  /**
   * Resolves only after the message's group commit is durable (or it was rejected and
   * dead-lettered durably). Never rejects for bad input; after `close()` it resolves
   * `rejected` / SHUTTING_DOWN.
   */
  submit(msg: InboundMessage): Promise<IngestResult>;
  /** Resolves when everything submitted before the call is resolved (journal on: and applied). */
  flush(): Promise<void>;
  /** Drain: commit everything accepted, close all instances and gateway state. Idempotent. */
  close(): Promise<void>;

  /** The compiled topic templates (filters to subscribe to, parse, topicFor). */
  readonly topics: TopicParser;
  /** The instance pool the pipeline writes through (retention holds devices exclusively through it). */
  readonly pool: import('../../devices/pool/types.js').DevicePool;

  /**
   * Runs `fn` with the device's open instance, pinned (never evicted while `fn` runs):
   * the escape hatch for audit/repair and anything not covered above (the SQL query source,
   * the dashboard). With the journal it first waits, like every read, until the device's
   * messages acked before the call are applied. NOT_FOUND for an unknown device (never
   * creates one).
   */
  withDevice<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>): Promise<T>;
  /** Dead letters, newest first, paged. */
  deadLetters(query?: DeadLetterQuery): Promise<DeadLetterPage>;
  stats(): IngestStats;
}
