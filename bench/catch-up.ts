/**
 * Catch-up benchmark: a gateway with a backlog of unsynced readings across 100 devices
 * drains to a router on loopback. Compared, in the same run, with the gateway's own
 * sustained ingest rate through the ingest pipeline (the baseline).
 *
 * Per run: (1) a router process starts (`lmj-edge router`, as on another machine) and
 * learns the devices from one reading each (the fleet synced before the outage: its
 * instances exist and are open); (2) the gateway's ingest pipeline takes `readings`
 * messages (~120-byte JSON, round-robin over the devices) with its uplink off — the
 * ingest rate; (3) the sync service starts in the same process over that pipeline with
 * the daemon's default uplink settings, as the daemon's would once the router is
 * reachable again — the catch-up rate = readings confirmed by the router / time until
 * all are confirmed. Both sides use durability `safe` and the daemon's libuv threadpool
 * size. `--cold` skips (1): the router creates every device's instance during the
 * drain (a gateway's first contact). Target: catch-up ≥ 2× ingest.
 *
 * Prints medians of the runs, each run's own ratio, the CPU seconds of both processes
 * during the drain and the load average.
 *
 * Usage: node dist/bench/catch-up.js [--readings 10000] [--runs 3] [--devices 100] [--cold]
 */
// Must stay the first import: the same threadpool size as the daemon (before any fs call).
import '../src/cli/threadpool.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIngestor, type Ingestor } from '../src/gateway/ingest/index.js';
import { startSync } from '../src/sync/index.js';
import { numArg } from './lib/args.js';
import { median, printRateTable } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(HERE, '..'), 'src', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const GATEWAY = 'bench-gw';

/** Ingests `n` readings (sequence numbers from `from`) over `devices` devices into `ing`; returns readings/s. */
async function ingest(ing: Ingestor, n: number, devices: number, from = 0): Promise<number> {
  const inflight = 4000;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = from + next++;
      const payload = Buffer.from(
        JSON.stringify({ seq: i, temp: 20 + (i % 100) / 10, hum: 40 + (i % 37), pressure: 1013.2, battery: 3.71, rssi: -60 - (i % 30) }),
      );
      const r = await ing.submit({ topic: `devices/dev-${i % devices}/telemetry`, payload, qos: 1 });
      if (r.status !== 'stored') throw new Error(`ingest: ${JSON.stringify(r)}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return n / ((performance.now() - t0) / 1000);
}

/** A running `lmj-edge router` process. */
interface RouterProcess {
  port: number;
  /** User + system CPU seconds so far (from /proc). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Starts `lmj-edge router` on a free port. */
async function routerProcess(dataDir: string): Promise<RouterProcess> {
  const proc = spawn(process.execPath, [CLI, 'router', '--data', dataDir, '--http-port', '0', '--nodes', '2', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /router listening on .*:(\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    void exited.then(() => rej(new Error('router exited before listening')));
  });
  return {
    port,
    cpuSeconds() {
      // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime, stime in ticks.
      const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts the sync service over the gateway `ing` serves and resolves once `n` readings are confirmed; returns the seconds it took. */
async function drain(ing: Ingestor, gwDir: string, port: number, n: number): Promise<number> {
  const t0 = performance.now();
  const sync = startSync({ dataDir: gwDir, durable: true, devices: ing }, { upstream: `http://127.0.0.1:${port}`, gatewayId: GATEWAY });
  try {
    for (;;) {
      const s = sync.status();
      if (s.counters.readingsSynced >= n) break;
      if (performance.now() - t0 > 600_000) throw new Error(`catch-up stalled: ${JSON.stringify(s)}`);
      await sleep(10);
    }
    return (performance.now() - t0) / 1000;
  } finally {
    await sync.close();
  }
}

/** One run's figures. */
interface RunResult {
  ingest: number;
  ingestCpu: number;
  catchUp: number;
  gatewayCpu: number;
  routerCpu: number;
  drainSeconds: number;
}

/** One run in a fresh directory. */
async function oneRun(readings: number, devices: number, cold: boolean): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-catchup-'));
  const router = await routerProcess(join(dir, 'router'));
  try {
    if (!cold) {
      // The fleet before the outage: one reading per device synced from an earlier data dir.
      const before = join(dir, 'gw-before');
      const ing0 = await createIngestor({ dataDir: before, durability: 'safe' });
      await ingest(ing0, devices, devices, readings);
      await drain(ing0, before, router.port, devices).finally(() => ing0.close());
    }
    // The outage: the gateway keeps ingesting with its uplink off, then the uplink starts
    // in the same process (as the daemon's would once the router is reachable again).
    const gwDir = join(dir, 'gw');
    const ing = await createIngestor({ dataDir: gwDir, durability: 'safe' });
    try {
      const icpu0 = process.cpuUsage();
      const ingestRate = await ingest(ing, readings, devices);
      const icpu = process.cpuUsage(icpu0);
      const cpu0 = process.cpuUsage();
      const r0 = router.cpuSeconds();
      const drainSeconds = await drain(ing, gwDir, router.port, readings);
      const cpu = process.cpuUsage(cpu0);
      return {
        ingest: ingestRate,
        ingestCpu: (icpu.user + icpu.system) / 1e6,
        catchUp: readings / drainSeconds,
        gatewayCpu: (cpu.user + cpu.system) / 1e6,
        routerCpu: router.cpuSeconds() - r0,
        drainSeconds,
      };
    } finally {
      await ing.close();
    }
  } finally {
    await router.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the benchmark and prints its table. */
export async function runCatchUpBench(readings = 10_000, runs = 3, devices = 100, cold = false): Promise<void> {
  const load0 = loadavg()[0] ?? 0;
  const results: RunResult[] = [];
  for (let r = 0; r < runs; r++) results.push(await oneRun(readings, devices, cold));
  const load1 = loadavg()[0] ?? 0;
  const router = cold ? 'fresh router (first contact)' : 'router already holding the devices';
  printRateTable(`sync catch-up (${readings.toLocaleString('en-US')} readings, ${devices} devices, durability safe, ${router}, loopback)`, [
    { name: 'ingest pipeline (gateway)', rates: results.map((x) => x.ingest), unit: 'readings/s' },
    { name: 'catch-up gateway → router', rates: results.map((x) => x.catchUp), baseline: 'ingest pipeline (gateway)', targetRatio: 2, unit: 'readings/s' },
  ]);
  const ratios = results.map((x) => x.catchUp / x.ingest);
  console.log(`\nper-run ratio catch-up / ingest: ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')} (median ${median(ratios).toFixed(2)}x)`);
  const med = (f: (x: RunResult) => number): string => median(results.map(f)).toFixed(1);
  console.log(
    `medians: ingest ${med((x) => readings / x.ingest)} s wall, ${med((x) => x.ingestCpu)} s CPU; drain ${med((x) => x.drainSeconds)} s wall, CPU gateway ${med((x) => x.gatewayCpu)} s + router ${med((x) => x.routerCpu)} s`,
  );
  console.log(`load average (1 min): ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end`);
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runCatchUpBench(numArg('readings', 10_000, true), numArg('runs', 3, true), numArg('devices', 100, true), process.argv.includes('--cold'));
}
