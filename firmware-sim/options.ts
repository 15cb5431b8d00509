/** Simulation options: types, defaults and validation (bad values → BAD_CONFIG). */
import { LmjError } from '../src/errors.js';
import type { SimFormat } from './encode.js';
import type { Profile } from './profiles/index.js';

/**
 * How devices map to MQTT connections. `per-device`: one connection each (what real
 * sensors do). `pool`: `maxConnections` connections, each publishing for several device
 * topics. `auto` (default): per-device up to `maxConnections` devices, pool beyond.
 */
export type ConnectionMode = 'auto' | 'per-device' | 'pool';

/** Everything `runSim` takes. Only `broker` is required. */
export interface SimOptions {
  /** `mqtt://host:port` of the gateway's broker (or an external broker it subscribes to). */
  broker: string;
  username?: string;
  password?: string;
  /** Fleet size. Default 1. */
  devices?: number;
  /** Publications per second for the whole fleet (or per device, see `ratePerDevice`); 0 = as fast as acks allow. Default 10. */
  rate?: number;
  /** Interpret `rate` per device instead of for the whole fleet. Default false. */
  ratePerDevice?: boolean;
  /** Stop generating after this many seconds. Default: 10 unless `count` is given. */
  durationS?: number;
  /** Stop generating after this many publications (good and bad) in total. */
  count?: number;
  /** MQTT QoS of every publication. Default 1. */
  qos?: 0 | 1;
  /** Payload encoding. Default json. */
  format?: SimFormat;
  /** `env` | `power` | `gps` | path of a template file, or a compiled profile. Default env. */
  profile?: string | Profile;
  /** Fraction (0..1) of publications replaced by malformed ones. Default 0. */
  bad?: number;
  /** Ledger file (JSON lines of acknowledged QoS 1 readings); none by default. */
  ledger?: string;
  /** Flush the ledger at least this often. Default 1000 ms. */
  ledgerFlushMs?: number;
  /** PRNG seed (payload values, phases, skews, faults). Default: random. */
  seed?: number;
  /** Connection mapping. Default auto. */
  connectionMode?: ConnectionMode;
  /** Most MQTT connections (per-device limit in auto mode, pool size in pool mode). Default 1000. */
  maxConnections?: number;
  /** Most unacknowledged publications per connection. Default 32. */
  inflight?: number;
  /** Offline buffer per device (readings kept while disconnected or backlogged). Default 1000. */
  bufferPerDevice?: number;
  /** Device ids are `<prefix><index, zero-padded>`. Default `sim-`. */
  devicePrefix?: string;
  /** Telemetry topic template with `{deviceId}`. Default `devices/{deviceId}/telemetry`. */
  topic?: string;
  /** Each device's clock is off by a fixed amount uniformly drawn in ±skewMs. Default 0. */
  skewMs?: number;
  /** Devices start at a random phase within this many ms (clamped to one period). Default: one period. */
  spreadMs?: number;
  /** Probability per reading that the device reboots first (seq restarts, boot increments). Default 0. */
  rebootProbability?: number;
  /** Boot counter of every device at start. Default: run-unique (seconds since 2024-01-01 UTC). */
  boot?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** After generation stops, wait this long at most for outstanding acks. Default 10000. */
  drainTimeoutMs?: number;
  /** Progress event interval. Default 500 ms. */
  progressMs?: number;
  /** Stops generation early (then drains as usual). */
  signal?: AbortSignal;
}

/** Options with every default filled in. */
export type ResolvedSimOptions = Required<Omit<SimOptions, 'username' | 'password' | 'ledger' | 'signal' | 'count' | 'durationS' | 'spreadMs' | 'profile'>> & {
  profile: string | Profile;
  username: string | undefined;
  password: string | undefined;
  ledger: string | undefined;
  signal: AbortSignal | undefined;
  count: number | undefined;
  durationS: number | undefined;
  spreadMs: number | undefined;
};

const BOOT_EPOCH_MS = Date.UTC(2024, 0, 1);

function bad(key: string, why: string): LmjError {
  return new LmjError('BAD_CONFIG', `sim option ${key}: ${why}`, { details: { key } });
}

function int(key: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) throw bad(key, `must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

function real(key: string, v: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (!Number.isFinite(v) || v < min || v > max) throw bad(key, `must be a number in ${min}..${max}, got ${v}`);
  return v;
}

/** Fills defaults and validates; throws BAD_CONFIG naming the bad option. */
export function resolveSimOptions(o: SimOptions): ResolvedSimOptions {
  let url: URL;
  try {
    url = new URL(o.broker);
  } catch {
    throw bad('broker', `not a URL: ${JSON.stringify(o.broker)}`);
  }
  if (!['mqtt:', 'tcp:'].includes(url.protocol)) throw bad('broker', 'only mqtt:// (or tcp://) URLs are supported');
  const topic = o.topic ?? 'devices/{deviceId}/telemetry';
  if (!topic.includes('{deviceId}') || /[+#]/.test(topic)) throw bad('topic', 'needs {deviceId} and no wildcards');
  const qos = o.qos ?? 1;
  if (qos !== 0 && qos !== 1) throw bad('qos', 'must be 0 or 1');
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'cbor') throw bad('format', 'must be json or cbor');
  const mode = o.connectionMode ?? 'auto';
  if (!['auto', 'per-device', 'pool'].includes(mode)) throw bad('connectionMode', 'must be auto, per-device or pool');
  const prefix = o.devicePrefix ?? 'sim-';
  if (!/^[A-Za-z0-9_.-]{0,40}$/.test(prefix) || prefix.includes('..')) throw bad('devicePrefix', 'letters, digits, - _ . only (no ..), at most 40');
  const count = o.count === undefined ? undefined : int('count', o.count, 1);
  const durationS = o.durationS === undefined ? (count === undefined ? 10 : undefined) : real('durationS', o.durationS, 0);
  const rate = real('rate', o.rate ?? 10, 0);
  if (rate === 0 && count === undefined && durationS === undefined) throw bad('rate', 'unlimited rate needs a count or a duration');
  return {
    broker: url.toString(),
    username: o.username,
    password: o.password,
    devices: int('devices', o.devices ?? 1, 1, 1_000_000),
    rate,
    ratePerDevice: o.ratePerDevice ?? false,
    durationS,
    count,
    qos,
    format,
    profile: o.profile ?? 'env',
    bad: real('bad', o.bad ?? 0, 0, 1),
    ledger: o.ledger,
    ledgerFlushMs: int('ledgerFlushMs', o.ledgerFlushMs ?? 1000, 10),
    seed: int('seed', o.seed ?? Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1),
    connectionMode: mode,
    maxConnections: int('maxConnections', o.maxConnections ?? 1000, 1, 100_000),
    inflight: int('inflight', o.inflight ?? 32, 1, 65_535),
    bufferPerDevice: int('bufferPerDevice', o.bufferPerDevice ?? 1000, 1),
    devicePrefix: prefix,
    topic,
    skewMs: real('skewMs', o.skewMs ?? 0, 0),
    spreadMs: o.spreadMs === undefined ? undefined : real('spreadMs', o.spreadMs, 0),
    rebootProbability: real('rebootProbability', o.rebootProbability ?? 0, 0, 1),
    boot: int('boot', o.boot ?? Math.floor((Date.now() - BOOT_EPOCH_MS) / 1000), 0),
    backoffMinMs: int('backoffMinMs', o.backoffMinMs ?? 100, 1),
    backoffMaxMs: int('backoffMaxMs', o.backoffMaxMs ?? 10_000, 1),
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs ?? 5000, 100),
    keepaliveS: int('keepaliveS', o.keepaliveS ?? 30, 0, 65_535),
    drainTimeoutMs: int('drainTimeoutMs', o.drainTimeoutMs ?? 10_000, 0),
    progressMs: int('progressMs', o.progressMs ?? 500, 10),
    signal: o.signal,
  };
}
