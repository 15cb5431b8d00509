/**
 * `npm run bench:ingest`: end-to-end ingest throughput and latency of lmj-edge against
 * bare MQTT relays measured in the same run. Everything (brokers, daemons, the simulator
 * fleet) is started and stopped here, as separate processes so each one's CPU is its own.
 *
 * Load: 100 simulated devices (firmware-sim, one connection each, 32 in flight each)
 * publishing ~150-byte env readings as fast as acks allow, for `--duration` seconds.
 * Cases (median of `--runs` runs):
 *   aedes relay q1          bare aedes, QoS 1 publishers → one counting subscriber (baseline)
 *   lmj-edge embedded q1    durable (safe); rate = publisher acks (sent after the commit)
 *   mosquitto relay q1/q0   bare mosquitto → one counting subscriber (baselines)
 *   lmj-edge external q1/q0 mosquitto → lmj-edge, durable; rate = readings stored
 *                           (QoS 0 at a fixed offered load, `--q0-rate`: without flow control
 *                           an unthrottled fleet only measures who drops first)
 *   latency @5000/s         fixed rate: publish→PUBACK p50/p99, aedes vs lmj-edge embedded
 *   lag @1000/s             fixed rate meant to stay below the apply rate: the ack → readable lag
 *   1000 devices            lmj-edge embedded q1 with 1,000 devices and 256 open instances (the pool
 *                           of a 1,024-descriptor limit), against the 100-device rate
 *   @3000/s 10000 devices   10,000 devices over 200 connections at 3,000 msg/s offered, the daemon under
 *                           `ulimit -n 1024`, against 100 devices at the same rate; pool opens/evictions
 *                           are counted while the fleet runs (opens per applied message beside them)
 *   apply worker            the embedded q1 and @5000/s cases with the device commits in the
 *                           device-apply worker (LMJ_EDGE_INGEST_APPLY_WORKER=on), against the same cases
 *                           with the main-thread apply
 *   sqlite q1               the obvious alternative (bench/sqlite-baseline.ts): aedes acking after a
 *                           group commit into one SQLite file; the embedded q1 cases (journal on,
 *                           the default, and off) also get a ratio against it
 * Every daemon/sqlite case also reports bytes on disk per stored reading (files, and database
 * pages in use: bench/lib/lmdb-pages.ts, SQLite page_count − freelist_count) and, with the journal,
 * the ack → readable lag (lmj_ingest_apply_lag_seconds; bucket upper bounds).
 * Rates are steady-state: (count − first) / (last − first) over the consumer's timeline.
 *
 * Usage: node dist/bench/ingest.js [--runs 3] [--duration 4] [--devices 100] [--q0-rate 10000]
 *        [--cases embedded,5000]  (only cases whose name contains one of these words, plus their baselines)
 *        [--base DIR]  (every lmj-edge case also with DIR's build, rows marked [base]: a checkout of the
 *                       commit to compare with, built, node_modules linked; cases run in interleaved rounds)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { SimSummary } from '../firmware-sim/sim-types.js';
import { verifyLedger } from '../firmware-sim/verify.js';
import { dataDirReadingSource } from '../firmware-sim/verify-data-dir.js';
import { listArg, numArg, strArg } from './lib/args.js';
import { settle, storedMetric, subscriber } from './lib/counters.js';
import { baseCli, children, cpuSeconds, daemonPid, diskBytes, freePort, peakRssMb, sampleRss, spawnReady, stop } from './lib/procs.js';
import { dataDirPages } from './lib/lmdb-pages.js';
import { HEADER, SQLITE, applyLag, medianOf, metricSample, sampleParts, tableRow, type CaseDef, type CaseFn, type Sample } from './lib/ingest-table.js';
import { quantile } from './lib/report.js';
import { POLL_LAG, breakdownOf, breakdownTable } from './lib/ack-breakdown.js';

/** Bytes of a SQLite file's pages in use (page_count − freelist_count), WAL checkpointed first. */
function sqlitePagesInUse(file: string): number {
  type Db = { pragma(s: string, o?: { simple: boolean }): unknown; close(): void };
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => Db;
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
    return pages * Number(db.pragma('page_size', { simple: true }));
  } finally {
    db.close();
  }
}

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(HERE, '..');
const SIM = join(DIST, 'firmware-sim', 'main.js');
const CLI = join(DIST, 'src', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** This file run with `--relay-aedes`: a bare aedes broker on a free port (the baseline relay). */
async function relayMain(): Promise<void> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1', () => console.log(`relay listening on ${(server.address() as AddressInfo).port}`));
}

interface Broker {
  url: string;
  proc: ChildProcess;
}

async function startAedesRelay(): Promise<Broker> {
  const { proc, matches } = await spawnReady(process.execPath, [fileURLToPath(import.meta.url), '--relay-aedes'], [/relay listening on (\d+)/]);
  return { proc, url: `mqtt://127.0.0.1:${matches[0]![1]}` };
}

async function startMosquitto(dir: string): Promise<Broker> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // As docs/mosquitto.conf.example asks for lmj-edge: persistence, no queue or in-flight caps.
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 5', 'max_inflight_messages 0', 'max_queued_messages 0', ''].join('\n'),
  );
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  children.add(proc);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      c.once('connect', () => c.end(true, {}, () => r(true)));
      c.once('error', () => c.end(true, {}, () => r(false)));
    });
    if (ok) return { proc, url: `mqtt://127.0.0.1:${port}` };
    await sleep(50);
  }
  throw new Error('mosquitto did not start');
}

interface Daemon {
  proc: ChildProcess;
  /** The daemon's own process (`start` re-executes itself with its heap limit; bench/lib/procs.ts daemonPid). */
  pid: number | undefined;
  mqttUrl: string;
  httpUrl: string;
}

/** Starts the daemon; with `fdLimit`, under `ulimit -n` (soft and hard) of that many descriptors. */
async function startDaemon(cli: string, dataDir: string, broker?: string, env: Record<string, string> = {}, fdLimit?: number): Promise<Daemon> {
  const args = [cli, 'start', '--data', dataDir, '--http-port', '0', ...(broker === undefined ? ['--mqtt-port', '0'] : ['--broker', broker])];
  const pats = [/http listening on .*:(\d+)/, broker === undefined ? /mqtt listening on .*:(\d+)/ : /mqtt subscribed to /];
  const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { proc, matches } =
    fdLimit === undefined ? await spawnReady(process.execPath, args, pats, env) : await spawnReady('/bin/bash', ['-c', `ulimit -n ${fdLimit} && exec ${quoted}`], pats, env);
  // Under `ulimit`, bash execs node, so `proc` is the launcher either way.
  return { proc, pid: daemonPid(proc.pid), httpUrl: `http://127.0.0.1:${matches[0]![1]}`, mqttUrl: broker ?? `mqtt://127.0.0.1:${matches[1]![1]}` };
}

/** Runs the simulator fleet as a child process and returns its JSON summary. */
async function sim(broker: string, o: { qos: 0 | 1; devices: number; durationS: number; rate?: number; ledger?: string; maxConnections?: number }): Promise<SimSummary> {
  const args = [SIM, 'sim', '--broker', broker, '--devices', String(o.devices), '--rate', String(o.rate ?? 0), '--duration', String(o.durationS)];
  if (o.maxConnections !== undefined) args.push('--max-connections', String(o.maxConnections));
  args.push('--qos', String(o.qos), '--json', '--seed', '1', '--drain-timeout', '30000', ...(o.ledger === undefined ? [] : ['--ledger', o.ledger]));
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((r) => proc.once('exit', () => r()));
  children.delete(proc);
  return JSON.parse(out) as SimSummary;
}

function pct(cpuS: number, wallMs: number): number {
  return Math.round((cpuS / (wallMs / 1000)) * 100);
}

const relayCase =
  (kind: 'aedes' | 'mosquitto', qos: 0 | 1, fixedRate?: number): CaseFn =>
  async ({ devices, durationS, dir }) => {
    const b = kind === 'aedes' ? await startAedesRelay() : await startMosquitto(dir);
    const sub = await subscriber(b.url);
    const cpu0 = { broker: cpuSeconds(b.proc.pid), sub: process.cpuUsage() };
    const t0 = performance.now();
    const s = await sim(b.url, { qos, devices, durationS, ...(fixedRate === undefined ? {} : { rate: fixedRate }) });
    await settle(sub, s.acked);
    const wall = performance.now() - t0;
    const subCpu = process.cpuUsage(cpu0.sub);
    const out: Sample = {
      // aedes acks on receipt: its publisher rate is the relay rate; mosquitto is measured at the subscriber.
      rate: kind === 'aedes' && qos === 1 ? (s.acked - 1) / s.ackSpanS : sub.rate(),
      loss: s.acked - sub.count(),
      cpu: { sim: pct(s.cpuS, wall), broker: pct(cpuSeconds(b.proc.pid) - cpu0.broker, wall), sub: pct((subCpu.user + subCpu.system) / 1e6, wall) },
      ...(fixedRate === undefined || qos === 0 ? {} : { p50: s.latencyMs.p50, p99: s.latencyMs.p99 }),
    };
    await sub.close();
    await stop(b.proc);
    return out;
  };

/** A fleet larger than its connections: `maxConnections` links, the daemon under `ulimit -n fdLimit`. */
interface FleetShape {
  maxConnections?: number;
  fdLimit?: number;
}

const edgeCase =
  (mode: 'embedded' | 'external', qos: 0 | 1, fixedRate?: number, env: Record<string, string> = {}, fleet: FleetShape = {}): CaseFn =>
  async ({ devices, durationS, dir, cli }) => {
    const mq = mode === 'external' ? await startMosquitto(dir) : undefined;
    const d = await startDaemon(cli, join(dir, 'data'), mq?.url, env, fleet.fdLimit);
    // Warm-up: the daemon's first connection pays one-off initialisation.
    const warm = await sim(d.mqttUrl, { qos: 1, devices: 1, durationS: 0.2, rate: 10 });
    const pollLags: number[] = [];
    let polling = false;
    const stored = await storedMetric(d.httpUrl, warm.acked, (text) => {
      const v = Number(/^lmj_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]);
      if (polling && Number.isFinite(v)) pollLags.push(v * 1000);
    });
    const before = await fetch(`${d.httpUrl}/metrics`).then((r) => r.text());
    polling = true;
    const ledger = join(dir, 'ledger.jsonl');
    const cpu0 = { daemon: cpuSeconds(d.pid), broker: cpuSeconds(mq?.proc.pid) };
    const rssSampler = sampleRss(d.pid, 200);
    const partsSampler = sampleParts(d.httpUrl, d.pid);
    const t0 = performance.now();
    const s = await sim(d.mqttUrl, { qos, devices, durationS, ledger, ...(fixedRate === undefined ? {} : { rate: fixedRate }), ...(fleet.maxConnections === undefined ? {} : { maxConnections: fleet.maxConnections }) });
    // Opens and evictions while the fleet ran (the drain below is one open per waiting device).
    const during = await fetch(`${d.httpUrl}/metrics`).then((r) => r.text());
    polling = false;
    const breakdown = breakdownOf(before, during);
    if (pollLags.length > 0) breakdown[POLL_LAG] = [quantile(pollLags, 0.5), quantile(pollLags, 0.99), Math.max(...pollLags)];
    await settle(stored, s.acked);
    // The device list waits until every acked message is applied (the journal's read barrier),
    // so messages held back for batching are in their devices before the stop and the check.
    const drainT0 = performance.now();
    await fetch(`${d.httpUrl}/devices?limit=1`, { signal: AbortSignal.timeout(300_000) }).then((r) => r.arrayBuffer());
    const drainS = (performance.now() - drainT0) / 1000;
    const wall = performance.now() - t0;
    const daemonCpuS = cpuSeconds(d.pid) - cpu0.daemon;
    const cpu: Record<string, number> = { sim: pct(s.cpuS, wall), daemon: pct(daemonCpuS, wall) };
    if (mq !== undefined) cpu['broker'] = pct(cpuSeconds(mq.proc.pid) - cpu0.broker, wall);
    const rssMb = peakRssMb(d.pid);
    const anonMb = rssSampler.stop().anonMb;
    const parts = await partsSampler.stop();
    const metricsText = await (await fetch(`${d.httpUrl}/metrics`)).text();
    const lag = applyLag(metricsText);
    const pool = { opens: metricSample(during, 'lmj_pool_opens_total'), evictions: metricSample(during, 'lmj_pool_evictions_total'), applied: s.acked - metricSample(during, 'lmj_journal_apply_backlog_messages') };
    await stored.close();
    await stop(d.proc);
    await stop(mq?.proc);
    // QoS 1: an acked reading not stored exactly once is a loss (checked on disk); QoS 0: published − stored.
    let loss: number;
    let lossKinds: { missing: number; duplicate: number } | undefined;
    if (qos === 1) {
      const v = await verifyLedger(ledger, dataDirReadingSource(join(dir, 'data')));
      loss = v.missing + v.duplicate;
      lossKinds = { missing: v.missing, duplicate: v.duplicate };
    } else {
      loss = s.published - stored.count();
    }
    return {
      rate: mode === 'embedded' ? (s.acked - 1) / s.ackSpanS : stored.rate(),
      loss,
      ...(lossKinds === undefined ? {} : { lossKinds }),
      cpu,
      rssMb,
      anonMb,
      diskB: diskBytes(join(dir, 'data')) / Math.max(1, qos === 1 ? s.acked : stored.count()),
      pagesB: dataDirPages(join(dir, 'data')).inUseBytes / Math.max(1, qos === 1 ? s.acked : stored.count()),
      ...(lag === undefined ? {} : { lag }),
      pool,
      drainS,
      breakdown,
      ...(parts === undefined ? {} : { parts }),
      cpuUsPerMsg: (daemonCpuS * 1e6) / Math.max(1, qos === 1 ? s.acked : stored.count()),
      ...((fixedRate === undefined && mode === 'external') || qos === 0 ? {} : { p50: s.latencyMs.p50, p99: s.latencyMs.p99 }),
    };
  };

/** The SQLite baseline (bench/sqlite-baseline.ts) under the same fleet as lmj-edge embedded q1. */
const sqliteCase: CaseFn = async ({ devices, durationS, dir }) => {
  const db = join(dir, 'sqlite');
  mkdirSync(db);
  const { proc, matches } = await spawnReady(process.execPath, [join(HERE, 'sqlite-baseline.js'), db], [/sqlite listening on (\d+)/]);
  const cpu0 = cpuSeconds(proc.pid);
  const t0 = performance.now();
  const s = await sim(`mqtt://127.0.0.1:${matches[0]![1]}`, { qos: 1, devices, durationS });
  const wall = performance.now() - t0;
  const out: Sample = {
    rate: (s.acked - 1) / s.ackSpanS,
    loss: s.published - s.acked,
    cpu: { sim: pct(s.cpuS, wall), sqlite: pct(cpuSeconds(proc.pid) - cpu0, wall) },
    rssMb: peakRssMb(proc.pid),
    p50: s.latencyMs.p50,
    p99: s.latencyMs.p99,
    diskB: diskBytes(db) / Math.max(1, s.acked),
  };
  await stop(proc);
  out.pagesB = sqlitePagesInUse(join(db, 'readings.db')) / Math.max(1, s.acked);
  return out;
};

/** The daemon with V8's default heap sizing (no re-exec): the baseline of its own heap limit. */
const NO_HEAP_LIMIT = { LMJ_EDGE_HEAP_MB: '0', LMJ_EDGE_SEMI_SPACE_MB: '0' };
/** The daemon with glibc's malloc defaults (the settings it applies itself off). */
const GLIBC_MALLOC = { LMJ_EDGE_MMAP_THRESHOLD_KB: '0', LMJ_EDGE_MALLOC_ARENAS: '0' };

/** Runs every case `runs` times (after warm-up inside each case) and prints one table. */
export async function runIngestBench(runs = 3, durationS = 4, devices = 100, q0Rate = 10_000): Promise<void> {
  const cases: CaseDef[] = [
    { name: 'aedes relay q1', fn: relayCase('aedes', 1) },
    { name: SQLITE, fn: sqliteCase },
    { name: 'lmj-edge embedded q1', fn: edgeCase('embedded', 1), baseline: 'aedes relay q1', vsSqlite: true, target: '>=1.0x, 0 loss', check: (m, b, s) => m >= (b ?? 0) && s.every((x) => x.loss === 0) },
    // The apply parallelism knob (ingest.applyInFlight, default 4) at 16, in the same run.
    { name: 'lmj-edge embedded q1 journal apply16', fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_INGEST_APPLY_IN_FLIGHT: '16' }), baseline: 'lmj-edge embedded q1', vsSqlite: true },
    { name: 'lmj-edge embedded q1 journal off', fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_INGEST_JOURNAL: 'off' }), baseline: 'lmj-edge embedded q1', vsSqlite: true },
    // The device commits in the device-apply worker thread (ingest.applyWorker), against the main-thread apply.
    { name: 'lmj-edge embedded q1 apply worker', fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_INGEST_APPLY_WORKER: 'on' }), baseline: 'lmj-edge embedded q1', vsSqlite: true },
    // The daemon's own heap limit (memory.heapMb, default 160 MB) off, in the same run.
    { name: 'lmj-edge embedded q1 no heap limit', fn: edgeCase('embedded', 1, undefined, NO_HEAP_LIMIT), baseline: 'lmj-edge embedded q1' },
    // The young generation at 16 and 32 MB semi-spaces (memory.semiSpaceMb, default 8), same old-space limit.
    { name: 'lmj-edge embedded q1 semi16', fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_SEMI_SPACE_MB: '16' }), baseline: 'lmj-edge embedded q1' },
    { name: 'lmj-edge embedded q1 semi32', fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_SEMI_SPACE_MB: '32' }), baseline: 'lmj-edge embedded q1' },
    // glibc's own malloc settings (adaptive mmap threshold, 8 arenas per core) instead of the daemon's (memory.mmapThresholdKb, memory.mallocArenas).
    { name: 'lmj-edge embedded q1 glibc malloc', fn: edgeCase('embedded', 1, undefined, GLIBC_MALLOC), baseline: 'lmj-edge embedded q1' },
    { name: 'mosquitto relay q1', fn: relayCase('mosquitto', 1) },
    { name: 'lmj-edge external q1', fn: edgeCase('external', 1), baseline: 'mosquitto relay q1', target: '>=0.8x, 0 loss', check: (m, b, s) => m >= 0.8 * (b ?? 0) && s.every((x) => x.loss === 0) },
    { name: 'lmj-edge external q1 no heap limit', fn: edgeCase('external', 1, undefined, NO_HEAP_LIMIT), baseline: 'lmj-edge external q1' },
    // QoS 0 has no flow control: an unthrottled fleet floods whatever is slowest, so both q0
    // cases get the same fixed offered load and report what arrives and what is lost.
    { name: `mosquitto relay q0 @${q0Rate}/s`, fn: relayCase('mosquitto', 0, q0Rate) },
    { name: `lmj-edge external q0 @${q0Rate}/s`, fn: edgeCase('external', 0, q0Rate), baseline: `mosquitto relay q0 @${q0Rate}/s` },
    // Below the apply rate: the ack → readable lag when the backlog is not full.
    { name: 'lmj-edge embedded lag @1000/s', fn: edgeCase('embedded', 1, 1000) },
    // Many devices, with the pool a 1,024-descriptor limit gives (256 open instances): the
    // same fleet shape at 10x the devices; peak RSS and the pool's opens/evictions show thrash.
    // A large fleet reporting on a period (the real daemon, `ulimit -n 1024`: 256 open
    // instances): 10,000 devices over 200 connections at 3,000 msg/s in all, against 100
    // devices at the same offered rate.
    { name: 'lmj-edge embedded @3000/s', fn: edgeCase('embedded', 1, 3000) },
    {
      name: 'lmj-edge embedded @3000/s 10000 devices',
      fn: edgeCase('embedded', 1, 3000, {}, { maxConnections: 200, fdLimit: 1024 }),
      devices: 10_000,
      baseline: 'lmj-edge embedded @3000/s',
      target: '>=0.8x, 0 loss',
      check: (m, b, s) => m >= 0.8 * (b ?? 0) && s.every((x) => x.loss === 0),
    },
    {
      name: 'lmj-edge embedded q1 1000 devices',
      fn: edgeCase('embedded', 1, undefined, { LMJ_EDGE_MAX_OPEN_INSTANCES: '256' }),
      devices: 1000,
      baseline: 'lmj-edge embedded q1',
      target: '>=0.8x, 0 loss',
      check: (m, b, s) => m >= 0.8 * (b ?? 0) && s.every((x) => x.loss === 0),
    },
    { name: 'aedes relay @5000/s', fn: relayCase('aedes', 1, 5000) },
    { name: 'lmj-edge embedded @5000/s', fn: edgeCase('embedded', 1, 5000), baseline: 'aedes relay @5000/s', target: 'p99<=10ms', check: (_m, _b, s) => medianOf(s, (x) => x.p99) <= 10 },
    // The sim's p50/p99 here is mosquitto's PUBACK; lmj-edge's own ack path is in the breakdown table.
    { name: 'mosquitto relay @5000/s', fn: relayCase('mosquitto', 1, 5000) },
    { name: 'lmj-edge external @5000/s', fn: edgeCase('external', 1, 5000), baseline: 'mosquitto relay @5000/s' },
    { name: 'lmj-edge embedded @5000/s apply worker', fn: edgeCase('embedded', 1, 5000, { LMJ_EDGE_INGEST_APPLY_WORKER: 'on' }), baseline: 'lmj-edge embedded @5000/s' },
  ];
  const only = listArg('cases');
  const base = strArg('base');
  if (only !== undefined) {
    const keep = new Set(cases.filter((c) => only.some((w) => c.name.includes(w))).map((c) => c.name));
    // Baselines of baselines too (the 1000-device case compares with embedded q1, which compares with aedes).
    for (let grew = true; grew; ) {
      const before = keep.size;
      for (const c of cases) if (keep.has(c.name) && c.baseline !== undefined) keep.add(c.baseline);
      grew = keep.size > before;
    }
    cases.splice(0, cases.length, ...cases.filter((c) => keep.has(c.name)));
  }
  if (base !== undefined) {
    // `--base DIR`: every daemon case again with DIR's build (a checkout of the commit to compare
    // with, built), its baselines the base twins where they have one: before/after in one run.
    const twin = (name: string): string => `${name} [base]`;
    const daemonCases = new Set(cases.filter((c) => c.name.startsWith('lmj-edge')).map((c) => c.name));
    const cli = baseCli(base);
    cases.push(
      ...cases
        .filter((c) => daemonCases.has(c.name))
        .map((c) => ({ ...c, name: twin(c.name), cli, ...(c.baseline === undefined ? {} : { baseline: daemonCases.has(c.baseline) ? twin(c.baseline) : c.baseline }) })),
    );
  }
  const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`\n## ingest: ${devices} devices, ~150 B JSON, ${durationS} s per run, median of ${runs} runs\n`);
  console.log(`machine: ${cpus().length} cores, load average at start ${load()}`);
  const results = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  // Rounds, every case once per round: a load that changes while the bench runs touches all cases alike.
  for (let r = 0; r < runs; r++) {
    for (const c of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-ingest-'));
      try {
        results.get(c.name)!.push(await c.fn({ devices: c.devices ?? devices, durationS, dir, cli: c.cli ?? CLI }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      process.stderr.write(`  done: ${c.name} (round ${r + 1})\n`);
    }
  }
  const rows: string[][] = [HEADER, ...cases.map((c) => tableRow(c, results))];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((cell, j) => cell.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
  const broken = cases.filter((c) => results.get(c.name)!.some((x) => x.breakdown !== undefined));
  if (broken.length > 0) {
    console.log('\nwhere the ack latency went (ms; bucket upper bounds of the daemon\'s histograms, medians over runs; docs/daemon.md):\n');
    for (const line of breakdownTable(broken.map((c) => ({ name: c.name, runs: results.get(c.name)!.flatMap((x) => (x.breakdown === undefined ? [] : [x.breakdown])) })))) console.log(line);
  }
  console.log(`\nload average at end ${load()} (other work on the machine shares the cores: compare ratios, not absolutes)`);
  console.log('loss: per run; QoS 1 = acked readings not stored exactly once (verify on disk), QoS 0 / relays = published − received.');
}

if (process.argv.includes('--relay-aedes')) {
  await relayMain();
} else if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  await runIngestBench(numArg('runs', 3, true), numArg('duration', 4), numArg('devices', 100, true), numArg('q0-rate', 10_000));
  process.exit(0);
}
