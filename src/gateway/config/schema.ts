/**
 * The daemon's configuration: its shape, defaults, and the single table that maps
 * each setting to its JSON path, environment variable and command-line flag.
 *
 * Precedence: flags > env (`LMJ_EDGE_*`) > config file (`--config`, JSON) > defaults.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_QUEUED_BEFORE_CONNACK } from '../broker/connect-queue.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../http/tls-listener.js';
import { DEFAULT_DUTY_PERCENT } from '../retention/pacing.js';
import { DEFAULT_HEAP_MB, DEFAULT_SEMI_SPACE_MB } from './memory-defaults.js';

/** Complete, validated daemon configuration. */
export interface GatewayConfig {
  /** Root of all data: `devices/<id>/` instances plus `gateway/` (registry, dead letters). */
  dataDir: string;
  /** `safe`: fsync before any ack. `fast`: a process crash loses nothing, a power cut may. */
  durability: 'safe' | 'fast';
  mqtt: {
    /** Embedded broker bind address. Anything but loopback requires `usersFile`. */
    host: string;
    /** Embedded broker port; 0 picks a free one. */
    port: number;
    /** File of `user:scrypt:<salt b64>:<hash b64>` lines (see `lmj-edge hash-password`). */
    usersFile: string | undefined;
    /** Most simultaneous MQTT connections; more are refused at accept time. */
    maxConnections: number;
    /** Largest MQTT packet accepted from a client, bytes; a bigger one closes that connection. */
    maxPacketBytes: number;
    /** Most messages handed to ingest and not yet committed, all clients together. */
    maxInFlight: number;
    /** Most packets one client may pipeline after CONNECT, held until its CONNACK; more close it. */
    maxQueuedBeforeConnack: number;
    /** MQTT-over-TLS port of the embedded broker (undefined: 8883 when `tls.cert` is set, else no TLS listener). */
    tlsPort: number | undefined;
    /** Bind address of the TLS listener (undefined: `mqtt.host`). */
    tlsHost: string | undefined;
    /** Client certificates on the TLS listener, verified against `tls.ca` (config/tls.ts). */
    clientCerts: 'off' | 'optional' | 'require';
  };
  /** External broker mode: subscribe here instead of running the embedded broker. */
  broker: {
    url: string | undefined;
    /** Fixed client id prefix; connection i uses `<clientId>-<i>` (persistent sessions). */
    clientId: string;
    /** Parallel subscriber connections sharing `$share/<group>/…`. */
    connections: number;
    /** Shared-subscription group name. */
    shareGroup: string;
    username: string | undefined;
    password: string | undefined;
  };
  topics: {
    /** Telemetry topic template; `{deviceId}` marks the device id level. */
    telemetry: string;
    /** Device metadata topic template. */
    meta: string;
  };
  http: {
    host: string;
    /** The API port; it speaks HTTPS when `tls.cert` is set. */
    port: number;
    /** API tokens file (`lmj-edge token create`); required when `host` is not loopback (src/http/api-auth.ts). */
    apiTokensFile: string | undefined;
    /** With a tokens file on a loopback `host`: answer without a token anyway. */
    apiLoopbackOpen: boolean;
    /** Failed authentications per remote address and minute before it gets 429s for the rest of that minute. */
    authFailuresPerMinute: number;
    /** With HTTPS: also plain HTTP on 127.0.0.1 at this port (undefined: none). */
    plainPort: number | undefined;
  };
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    /** Most rejection log lines per minute; the rest are only counted. */
    rejectionsPerMinute: number;
  };
  /** Most LMJCore instances held open at once (0 = derive from the fd limit). */
  maxOpenInstances: number;
  /** Group commit window in ms. */
  commitWindowMs: number;
  /** The ingest pipeline's write-ahead journal (docs/daemon.md, docs/journal.md). */
  ingest: {
    /** Ack after the journal's fdatasync and apply to the devices afterwards (false: ack after the device commit). */
    journal: boolean;
    /** Byte budget of the journal in `DIR/gateway/journal`; at it, acks wait until applying catches up. */
    journalMaxBytes: number;
    /** Device commits in flight while applying the journal. */
    applyInFlight: number;
    /** Journal on: device commits in a worker thread instead of the main thread (docs/journal.md, *Apply worker*). */
    applyWorker: boolean;
  };
  /** Bounds of `POST /query` (docs/query.md, Limits); a request may only lower them. */
  query: {
    /** Most rows in one answer. */
    maxRows: number;
    /** Wall-clock budget of one query, ms. */
    timeoutMs: number;
    /** Most rows one query visits. */
    maxScanned: number;
    /** Most groups / buffered rows one query holds (its memory bound). */
    maxGroups: number;
  };
  /** Disk-space guard of the data directory (docs/daemon.md, Disk full). */
  storage: {
    /** Below this many free bytes in the data directory's file system, ingest stops acking. */
    minFreeBytes: number;
    /** statfs of the data directory at most this often, ms (and at once after ENOSPC/EIO). */
    checkIntervalMs: number;
  };
  /** Upstream sync to a cloud router (docs/sync.md); off while `upstream` is unset. */
  sync: {
    /** Router base URL, `http(s)://host:port`. */
    upstream: string | undefined;
    /** This gateway's bearer token on the router (prefer the env var over a flag or file). */
    token: string | undefined;
    /** Gateway id on the router (default: the host name, made id-safe). */
    gatewayId: string | undefined;
    /** Most unsynced upload bytes kept. */
    outboxBudget: number;
    /** At the budget: stop acking (`backpressure`) or skip the oldest (`drop-oldest`). */
    outboxPolicy: 'backpressure' | 'drop-oldest';
    /** PEM CA file the https:// routers' certificates must chain to (default: Node's public CAs). */
    upstreamCa: string | undefined;
  };
  /** Certificate, key and CA of the TLS listeners (MQTT over TLS, HTTPS; docs/daemon.md, TLS). */
  tls: {
    cert: string | undefined;
    key: string | undefined;
    ca: string | undefined;
    /** A TLS handshake not finished after this many ms is dropped and counted. */
    handshakeTimeoutMs: number;
  };
  /** Retention of old readings and compaction (docs/retention.md). */
  retention: {
    /** Default: remove readings older than this many seconds (0 = no age bound). */
    maxAgeSeconds: number;
    /** Default: keep each device's data.mdb under this many bytes (0 = no size bound). */
    maxBytes: number;
    /** Default: also remove readings not yet synced upstream (counted). */
    dropUnsynced: boolean;
    /** Background run period in seconds (0 = only on demand). */
    intervalSeconds: number;
    /** Most readings removed per write transaction. */
    batchReadings: number;
    /** Share of wall time the delete transactions may fill, percent (100 = back to back). */
    dutyPercent: number;
    /** Per-device overrides (config file only), by device id. */
    devices: Record<string, RetentionOverride>;
  };
  /** The daemon's V8 heap limit, applied by `lmj-edge start` re-executing itself (src/cli/launcher.ts). */
  memory: {
    /** `--max-old-space-size`, MB (0 = V8's default, sized from the machine's memory). */
    heapMb: number;
    /** `--max-semi-space-size`, MB (0 = V8's default). */
    semiSpaceMb: number;
    /** glibc malloc: blocks from this size on get their own mapping, KiB, fixed (0 = glibc's adaptive threshold). */
    mmapThresholdKb: number;
    /** glibc malloc: most arenas (0 = glibc's default, 8 per core). */
    mallocArenas: number;
    /** Memory the open device instances may hold, MB: caps the derived `maxOpenInstances` (0 = descriptors alone decide). */
    instancesMb: number;
  };
}

/** A device's retention override in the config file: the keys given replace the defaults. */
export interface RetentionOverride {
  maxAgeSeconds?: number;
  maxBytes?: number;
  dropUnsynced?: boolean;
}

/** Value kinds the loader knows how to parse from env and flags. */
export type SettingKind = 'string' | 'port' | 'int' | 'enum' | 'path' | 'bool';

/** One configurable setting: where it lives and how it is checked. */
export interface Setting {
  /** Dotted path into {@link GatewayConfig}, also the key used in the JSON file. */
  key: string;
  env: string;
  /** Commander option name (camelCase), when there is a flag for it. */
  flag?: string;
  kind: SettingKind;
  values?: readonly string[];
  min?: number;
  max?: number;
  optional?: boolean;
}

/** Every setting. The JSON file uses the same nesting as {@link GatewayConfig}. */
export const SETTINGS: readonly Setting[] = [
  { key: 'dataDir', env: 'LMJ_EDGE_DATA_DIR', flag: 'data', kind: 'path' },
  { key: 'durability', env: 'LMJ_EDGE_DURABILITY', flag: 'durability', kind: 'enum', values: ['safe', 'fast'] },
  { key: 'mqtt.host', env: 'LMJ_EDGE_MQTT_HOST', flag: 'mqttHost', kind: 'string' },
  { key: 'mqtt.port', env: 'LMJ_EDGE_MQTT_PORT', flag: 'mqttPort', kind: 'port' },
  { key: 'mqtt.usersFile', env: 'LMJ_EDGE_MQTT_USERS_FILE', flag: 'mqttUsers', kind: 'path', optional: true },
  { key: 'mqtt.maxConnections', env: 'LMJ_EDGE_MQTT_MAX_CONNECTIONS', kind: 'int', min: 1, max: 1_000_000 },
  { key: 'mqtt.maxPacketBytes', env: 'LMJ_EDGE_MQTT_MAX_PACKET_BYTES', kind: 'int', min: 1024, max: 268_435_455 },
  { key: 'mqtt.maxInFlight', env: 'LMJ_EDGE_MQTT_MAX_IN_FLIGHT', kind: 'int', min: 1, max: 10_000_000 },
  { key: 'mqtt.maxQueuedBeforeConnack', env: 'LMJ_EDGE_MQTT_MAX_QUEUED_BEFORE_CONNACK', kind: 'int', min: 1, max: 1_000_000 },
  { key: 'broker.url', env: 'LMJ_EDGE_BROKER_URL', flag: 'broker', kind: 'string', optional: true },
  { key: 'broker.clientId', env: 'LMJ_EDGE_BROKER_CLIENT_ID', kind: 'string' },
  { key: 'broker.connections', env: 'LMJ_EDGE_BROKER_CONNECTIONS', kind: 'int', min: 1, max: 64 },
  { key: 'broker.shareGroup', env: 'LMJ_EDGE_BROKER_SHARE_GROUP', kind: 'string' },
  { key: 'broker.username', env: 'LMJ_EDGE_BROKER_USERNAME', kind: 'string', optional: true },
  { key: 'broker.password', env: 'LMJ_EDGE_BROKER_PASSWORD', kind: 'string', optional: true },
  { key: 'topics.telemetry', env: 'LMJ_EDGE_TOPIC_TELEMETRY', kind: 'string' },
  { key: 'topics.meta', env: 'LMJ_EDGE_TOPIC_META', kind: 'string' },
  { key: 'http.host', env: 'LMJ_EDGE_HTTP_HOST', flag: 'httpHost', kind: 'string' },
  { key: 'http.port', env: 'LMJ_EDGE_HTTP_PORT', flag: 'httpPort', kind: 'port' },
  { key: 'http.apiTokensFile', env: 'LMJ_EDGE_API_TOKENS', flag: 'apiTokens', kind: 'path', optional: true },
  { key: 'http.apiLoopbackOpen', env: 'LMJ_EDGE_API_LOOPBACK_OPEN', flag: 'apiLoopbackOpen', kind: 'bool' },
  { key: 'http.authFailuresPerMinute', env: 'LMJ_EDGE_API_AUTH_FAILURES_PER_MINUTE', kind: 'int', min: 1, max: 1_000_000 },
  {
    key: 'log.level',
    env: 'LMJ_EDGE_LOG_LEVEL',
    flag: 'logLevel',
    kind: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  },
  { key: 'log.rejectionsPerMinute', env: 'LMJ_EDGE_LOG_REJECTIONS_PER_MINUTE', kind: 'int', min: 0, max: 1_000_000 },
  { key: 'maxOpenInstances', env: 'LMJ_EDGE_MAX_OPEN_INSTANCES', kind: 'int', min: 0, max: 1_000_000 },
  { key: 'commitWindowMs', env: 'LMJ_EDGE_COMMIT_WINDOW_MS', kind: 'int', min: 1, max: 1000 },
  { key: 'ingest.journal', env: 'LMJ_EDGE_INGEST_JOURNAL', flag: 'journal', kind: 'bool' },
  // At least two 32 MiB segments (the journal's own rule).
  { key: 'ingest.journalMaxBytes', env: 'LMJ_EDGE_INGEST_JOURNAL_MAX_BYTES', kind: 'int', min: 64 * 1024 * 1024, max: Number.MAX_SAFE_INTEGER },
  { key: 'ingest.applyInFlight', env: 'LMJ_EDGE_INGEST_APPLY_IN_FLIGHT', kind: 'int', min: 1, max: 64 },
  { key: 'ingest.applyWorker', env: 'LMJ_EDGE_INGEST_APPLY_WORKER', flag: 'applyWorker', kind: 'bool' },
  { key: 'query.maxRows', env: 'LMJ_EDGE_QUERY_MAX_ROWS', flag: 'queryMaxRows', kind: 'int', min: 1, max: 10_000_000 },
  { key: 'query.timeoutMs', env: 'LMJ_EDGE_QUERY_TIMEOUT_MS', flag: 'queryTimeout', kind: 'int', min: 1, max: 3_600_000 },
  { key: 'query.maxScanned', env: 'LMJ_EDGE_QUERY_MAX_SCANNED', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  { key: 'query.maxGroups', env: 'LMJ_EDGE_QUERY_MAX_GROUPS', kind: 'int', min: 1, max: 100_000_000 },
  { key: 'storage.minFreeBytes', env: 'LMJ_EDGE_MIN_FREE_BYTES', flag: 'minFreeBytes', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  { key: 'storage.checkIntervalMs', env: 'LMJ_EDGE_DISK_CHECK_MS', kind: 'int', min: 10, max: 60_000 },
  { key: 'sync.upstream', env: 'LMJ_EDGE_UPSTREAM', flag: 'upstream', kind: 'string', optional: true },
  { key: 'sync.token', env: 'LMJ_EDGE_UPSTREAM_TOKEN', flag: 'upstreamToken', kind: 'string', optional: true },
  { key: 'sync.gatewayId', env: 'LMJ_EDGE_GATEWAY_ID', flag: 'gatewayId', kind: 'string', optional: true },
  { key: 'sync.outboxBudget', env: 'LMJ_EDGE_OUTBOX_BUDGET', flag: 'outboxBudget', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  { key: 'sync.outboxPolicy', env: 'LMJ_EDGE_OUTBOX_POLICY', flag: 'outboxPolicy', kind: 'enum', values: ['backpressure', 'drop-oldest'] },
  { key: 'retention.maxAgeSeconds', env: 'LMJ_EDGE_RETENTION_MAX_AGE_SECONDS', flag: 'retentionMaxAge', kind: 'int', min: 0, max: 100 * 365 * 86_400 },
  { key: 'retention.maxBytes', env: 'LMJ_EDGE_RETENTION_MAX_BYTES', flag: 'retentionMaxBytes', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  { key: 'retention.dropUnsynced', env: 'LMJ_EDGE_RETENTION_DROP_UNSYNCED', flag: 'retentionDropUnsynced', kind: 'bool' },
  { key: 'retention.intervalSeconds', env: 'LMJ_EDGE_RETENTION_INTERVAL_SECONDS', kind: 'int', min: 0, max: 7 * 86_400 },
  { key: 'retention.batchReadings', env: 'LMJ_EDGE_RETENTION_BATCH_READINGS', kind: 'int', min: 1, max: 10_000 },
  { key: 'retention.dutyPercent', env: 'LMJ_EDGE_RETENTION_DUTY_PERCENT', kind: 'int', min: 1, max: 100 },
  { key: 'tls.cert', env: 'LMJ_EDGE_TLS_CERT', flag: 'tlsCert', kind: 'path', optional: true },
  { key: 'tls.key', env: 'LMJ_EDGE_TLS_KEY', flag: 'tlsKey', kind: 'path', optional: true },
  { key: 'tls.ca', env: 'LMJ_EDGE_TLS_CA', flag: 'tlsCa', kind: 'path', optional: true },
  { key: 'tls.handshakeTimeoutMs', env: 'LMJ_EDGE_TLS_HANDSHAKE_TIMEOUT_MS', flag: 'tlsHandshakeTimeout', kind: 'int', min: 50, max: 120_000 },
  { key: 'mqtt.tlsPort', env: 'LMJ_EDGE_MQTT_TLS_PORT', flag: 'mqttTlsPort', kind: 'port', optional: true },
  { key: 'mqtt.tlsHost', env: 'LMJ_EDGE_MQTT_TLS_HOST', flag: 'mqttTlsHost', kind: 'string', optional: true },
  { key: 'sync.upstreamCa', env: 'LMJ_EDGE_UPSTREAM_CA', flag: 'upstreamCa', kind: 'path', optional: true },
  { key: 'http.plainPort', env: 'LMJ_EDGE_HTTP_PLAIN_PORT', flag: 'httpPlainPort', kind: 'port', optional: true },
  { key: 'mqtt.clientCerts', env: 'LMJ_EDGE_MQTT_CLIENT_CERTS', flag: 'mqttClientCerts', kind: 'enum', values: ['off', 'optional', 'require'] },
  // 0 leaves the limit to V8 (and `lmj-edge start` runs without re-executing itself).
  { key: 'memory.heapMb', env: 'LMJ_EDGE_HEAP_MB', flag: 'heapMb', kind: 'int', min: 0, max: 65_536 },
  { key: 'memory.semiSpaceMb', env: 'LMJ_EDGE_SEMI_SPACE_MB', kind: 'int', min: 0, max: 256 },
  { key: 'memory.mmapThresholdKb', env: 'LMJ_EDGE_MMAP_THRESHOLD_KB', kind: 'int', min: 0, max: 32_768 },
  { key: 'memory.mallocArenas', env: 'LMJ_EDGE_MALLOC_ARENAS', kind: 'int', min: 0, max: 64 },
  { key: 'memory.instancesMb', env: 'LMJ_EDGE_INSTANCES_MB', kind: 'int', min: 0, max: 65_536 },
];


/**
 * Default glibc mmap threshold, KiB: glibc's own starts at 128 KiB but rises to the size of
 * every large block freed (an LMDB environment's 2 MiB dirty list, a big flatten result), after
 * which such blocks come from the heap and their freed space stays resident (docs/daemon.md, *Memory*).
 */
export const DEFAULT_MMAP_THRESHOLD_KB = 128;
/** Default memory budget of the open instances, MB: 64 MB at ~256 KiB each is 256 open (docs/daemon.md, *Memory*). */
export const DEFAULT_INSTANCES_MB = 64;
/** Default malloc arenas: the threads (libuv pool, lmdb-js writers, V8 helpers) share 2 instead of up to 16 on 2 cores. */
export const DEFAULT_MALLOC_ARENAS = 2;

/** Default data directory: system-wide when root, per-user otherwise. */
export function defaultDataDir(): string {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) return '/var/lib/lmj-edge';
  const xdg = process.env.XDG_DATA_HOME;
  return xdg !== undefined && xdg.startsWith('/') ? join(xdg, 'lmj-edge') : join(homedir(), '.local', 'share', 'lmj-edge');
}

/** Embedded-friendly defaults: loopback only, durable, bounded. */
export function defaultConfig(): GatewayConfig {
  return {
    dataDir: defaultDataDir(),
    durability: 'safe',
    mqtt: {
      host: '127.0.0.1',
      port: 1883,
      usersFile: undefined,
      maxConnections: 10_000,
      maxPacketBytes: 256 * 1024,
      maxInFlight: 20_000,
      // aedes reads little more from a socket until CONNACK, so this holds what the
      // reads before it carried: 64 KiB plus the socket's buffer of the smallest
      // telemetry PUBLISHes (~25 bytes) is ~3,300 packets. bench/pipelined-connect.ts:
      maxQueuedBeforeConnack: DEFAULT_QUEUED_BEFORE_CONNACK,
      tlsPort: undefined,
      tlsHost: undefined,
      clientCerts: 'off',
    },
    broker: {
      url: undefined,
      clientId: 'lmj-edge',
      // One connection keeps each device's messages in broker order and already
      // pipelines thousands of messages; more only help if parsing is the bottleneck.
      connections: 1,
      shareGroup: 'lmj-edge',
      username: undefined,
      password: undefined,
    },
    topics: { telemetry: 'devices/{deviceId}/telemetry', meta: 'devices/{deviceId}/meta' },
    http: { host: '127.0.0.1', port: 8080, plainPort: undefined, apiTokensFile: undefined, apiLoopbackOpen: false, authFailuresPerMinute: 10 },
    log: { level: 'info', rejectionsPerMinute: 60 },
    maxOpenInstances: 0,
    commitWindowMs: 2,
    // On by default: acks after one journal fdatasync per group (docs/journal.md; SIGKILL and power-cut tested).
    ingest: { journal: true, journalMaxBytes: 512 * 1024 * 1024, applyInFlight: 4, applyWorker: false },
    query: { maxRows: 10_000, timeoutMs: 30_000, maxScanned: 50_000_000, maxGroups: 100_000 },
    storage: { minFreeBytes: 16 * 1024 * 1024, checkIntervalMs: 1000 },
    sync: { upstream: undefined, token: undefined, gatewayId: undefined, outboxBudget: 256 * 1024 * 1024, outboxPolicy: 'backpressure', upstreamCa: undefined },
    tls: { cert: undefined, key: undefined, ca: undefined, handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS },
    // Nothing is removed unless configured; a run per hour when it is.
    retention: { maxAgeSeconds: 0, maxBytes: 0, dropUnsynced: false, intervalSeconds: 3600, batchReadings: 500, dutyPercent: DEFAULT_DUTY_PERCENT, devices: {} },
    memory: { heapMb: DEFAULT_HEAP_MB, semiSpaceMb: DEFAULT_SEMI_SPACE_MB, mmapThresholdKb: DEFAULT_MMAP_THRESHOLD_KB, mallocArenas: DEFAULT_MALLOC_ARENAS, instancesMb: DEFAULT_INSTANCES_MB },
  };
}
