/**
 * The `sim` and `verify` subcommands, registered on any commander program: the
 * `lmj-edge` CLI calls {@link registerSimCommands}, and firmware-sim/main.ts runs them
 * standalone (`node dist/firmware-sim/main.js sim …`).
 *
 * Exit codes: 0 success; 1 `verify` found missing or duplicate readings, or `sim`
 * published readings and got none acknowledged (broker unreachable); 2 bad usage or
 * options (BAD_CONFIG) or another error.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isLmjError } from '../src/errors.js';
import type { ConnectionMode, SimOptions } from './options.js';
import { Simulation } from './sim.js';
import { writeStatus } from './status-line.js';
import { verifyLedger, type ReadingSource } from './verify.js';
import { httpReadingSource } from './verify-http.js';

function number(min: number, max = Number.POSITIVE_INFINITY, integer = false) {
  return (text: string): number => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    }
    return v;
  };
}

function choice<T extends string>(...allowed: T[]) {
  return (text: string): T => {
    if (!(allowed as string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return text as T;
  };
}

function fail(err: unknown): void {
  const msg = isLmjError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${msg}\n`);
  process.exitCode = 2;
}

interface SimFlags {
  broker: string;
  devices: number;
  rate: number;
  perDeviceRate?: boolean;
  duration?: number;
  count?: number;
  qos: number;
  format: 'json' | 'cbor';
  profile: string;
  bad: number;
  ledger?: string;
  json?: boolean;
  seed?: number;
  connections: ConnectionMode;
  maxConnections: number;
  inflight: number;
  buffer: number;
  devicePrefix: string;
  topic: string;
  skew: number;
  spread?: number;
  reboot: number;
  boot?: number;
  backoffMin: number;
  backoffMax: number;
  drainTimeout: number;
  username?: string;
  password?: string;
}

async function simAction(f: SimFlags): Promise<void> {
  const options: SimOptions = {
    broker: f.broker,
    devices: f.devices,
    rate: f.rate,
    ratePerDevice: f.perDeviceRate === true,
    qos: f.qos as 0 | 1,
    format: f.format,
    profile: f.profile,
    bad: f.bad,
    connectionMode: f.connections,
    maxConnections: f.maxConnections,
    inflight: f.inflight,
    bufferPerDevice: f.buffer,
    devicePrefix: f.devicePrefix,
    topic: f.topic,
    skewMs: f.skew,
    rebootProbability: f.reboot,
    backoffMinMs: f.backoffMin,
    backoffMaxMs: f.backoffMax,
    drainTimeoutMs: f.drainTimeout,
    ...(f.duration === undefined ? {} : { durationS: f.duration }),
    ...(f.count === undefined ? {} : { count: f.count }),
    ...(f.ledger === undefined ? {} : { ledger: f.ledger }),
    ...(f.seed === undefined ? {} : { seed: f.seed }),
    ...(f.spread === undefined ? {} : { spreadMs: f.spread }),
    ...(f.boot === undefined ? {} : { boot: f.boot }),
    ...(f.username === undefined ? {} : { username: f.username }),
    ...(f.password === undefined ? {} : { password: f.password }),
  };
  const sim = new Simulation(options);
  const tty = process.stdout.isTTY === true && f.json !== true;
  if (tty) sim.on('progress', (p) => writeStatus(process.stdout, p));
  let interrupts = 0;
  const onSignal = (): void => {
    // First Ctrl-C: stop generating and drain; second: give up immediately.
    if (++interrupts > 1) process.exit(130);
    sim.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await sim.run();
    if (tty) process.stdout.write('\n');
    process.stdout.write(`${JSON.stringify(summary, null, f.json === true ? undefined : 2)}\n`);
    if (summary.published > 0 && summary.acked === 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface VerifyFlags {
  ledger: string;
  data?: string;
  http?: string;
  json?: boolean;
  concurrency: number;
}

async function openSource(f: VerifyFlags): Promise<ReadingSource> {
  if ((f.data === undefined) === (f.http === undefined)) {
    throw new InvalidArgumentError('give exactly one of --data DIR or --http URL');
  }
  if (f.http !== undefined) return httpReadingSource(f.http);
  const { dataDirReadingSource } = await import('./verify-data-dir.js');
  return dataDirReadingSource(f.data!);
}

async function verifyAction(f: VerifyFlags): Promise<void> {
  const result = await verifyLedger(f.ledger, await openSource(f), f.concurrency);
  if (f.json === true) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`checked ${result.checked}  missing ${result.missing}  duplicate ${result.duplicate}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
  process.exitCode = result.ok ? 0 : 1;
}

/** Usage errors exit 2, so scripts can tell them from `verify` finding problems (1). */
function usageExit(err: { exitCode: number }): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

/** Adds `sim` and `verify` to a commander program. */
export function registerSimCommands(program: Command): void {
  program
    .command('sim')
    .exitOverride(usageExit)
    .description('simulate a fleet of MQTT sensors publishing telemetry (see docs/firmware-sim.md)')
    .requiredOption('--broker <url>', 'MQTT broker, mqtt://host:port')
    .option('--devices <n>', 'number of devices', number(1, 1_000_000, true), 1)
    .option('--rate <msgs/s>', 'publications per second for the whole fleet (0 = as fast as acks allow)', number(0), 10)
    .option('--per-device-rate', '--rate is per device instead of for the whole fleet')
    .option('--duration <s>', 'stop generating after this many seconds (default 10 unless --count)', number(0))
    .option('--count <n>', 'stop generating after this many publications in total', number(1, Number.MAX_SAFE_INTEGER, true))
    .option('--qos <0|1>', 'MQTT QoS', number(0, 1, true), 1)
    .option('--format <json|cbor>', 'payload encoding', choice('json', 'cbor'), 'json')
    .option('--profile <env|power|gps|FILE>', 'sensor profile or template file', 'env')
    .option('--bad <fraction>', 'fraction of malformed publications (0..1)', number(0, 1), 0)
    .option('--ledger <file>', 'append acknowledged QoS 1 readings as JSON lines')
    .option('--json', 'print only the final JSON summary')
    .option('--seed <n>', 'PRNG seed for reproducible runs', number(0, 2 ** 32 - 1, true))
    .option('--connections <mode>', 'auto | per-device | pool (auto: per-device up to --max-connections)', choice<ConnectionMode>('auto', 'per-device', 'pool'), 'auto')
    .option('--max-connections <n>', 'most MQTT connections (pool size in pool mode)', number(1, 100_000, true), 1000)
    .option('--inflight <n>', 'most unacknowledged publications per connection', number(1, 65_535, true), 32)
    .option('--buffer <n>', 'offline buffer per device (oldest dropped when full)', number(1, Number.MAX_SAFE_INTEGER, true), 1000)
    .option('--device-prefix <prefix>', 'device ids are <prefix><index>', 'sim-')
    .option('--topic <template>', 'telemetry topic template', 'devices/{deviceId}/telemetry')
    .option('--skew <ms>', 'device clocks off by up to ±ms', number(0), 0)
    .option('--spread <ms>', 'devices start at random phases within this many ms (default: one period)', number(0))
    .option('--reboot <probability>', 'chance per reading that the device reboots first (seq restarts, boot increments)', number(0, 1), 0)
    .option('--boot <n>', 'initial boot counter (default: run-unique)', number(0, Number.MAX_SAFE_INTEGER, true))
    .option('--backoff-min <ms>', 'first reconnect delay', number(1, 3_600_000, true), 100)
    .option('--backoff-max <ms>', 'longest reconnect delay', number(1, 3_600_000, true), 10_000)
    .option('--drain-timeout <ms>', 'how long to wait for outstanding acks at the end', number(0, 3_600_000, true), 10_000)
    .option('--username <name>', 'MQTT username')
    .option('--password <password>', 'MQTT password')
    .action((f: SimFlags) => simAction(f).catch(fail));

  program
    .command('verify')
    .exitOverride(usageExit)
    .description('check that every acknowledged reading in a sim ledger is stored exactly once')
    .requiredOption('--ledger <file>', 'ledger written by sim --ledger')
    .option('--data <dir>', 'gateway data directory (read-only; works while the gateway runs)')
    .option('--http <url>', 'base URL of a running gateway HTTP API')
    .option('--concurrency <n>', 'devices checked at once', number(1, 64, true), 4)
    .option('--json', 'print only the JSON result')
    .action((f: VerifyFlags) => verifyAction(f).catch(fail));
}
