/**
 * Catch-up benchmark: a gateway with a backlog of unsynced readings across 100 devices
 * drains to a router on loopback. Compared, in the same run, with the gateway's own
 * sustained ingest rate through the ingest pipeline (the baseline).
 *
 * Per run: (1) ingest `readings` messages (100 devices, ~120-byte JSON) through the
 * real ingest pipeline with the uplink off — the ingest rate; (2) start a router (a
 * separate `lmj-edge router` process, as it would be on another machine) and the sync
 * service over that data directory — the catch-up rate = readings confirmed by the
 * router / time until the backlog is empty. Both use durability `safe`.
 * Target: catch-up ≥ 2× ingest.
 *
 * Usage: node dist/bench/catch-up.js [--readings 1000000] [--runs 5] [--devices 100]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIngestor } from '../src/gateway/ingest/index.js';
import { startSync } from '../src/sync/index.js';
import { printRateTable } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(HERE, '..'), 'src', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ingests `n` readings over `devices` devices; returns readings/s. */
async function ingest(dataDir: string, n: number, devices: number): Promise<number> {
  const ing = await createIngestor({ dataDir, durability: 'safe' });
  const inflight = 4000;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const payload = Buffer.from(
        JSON.stringify({ seq: i, temp: 20 + (i % 100) / 10, hum: 40 + (i % 37), pressure: 1013.2, battery: 3.71, rssi: -60 - (i % 30) }),
      );
      const r = await ing.submit({ topic: `devices/dev-${i % devices}/telemetry`, payload, qos: 1 });
      if (r.status !== 'stored') throw new Error(`ingest: ${JSON.stringify(r)}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const rate = n / ((performance.now() - t0) / 1000);
  await ing.close();
  return rate;
}

/** Starts `lmj-edge router` on a free port; resolves with its port and a stopper. */
async function routerProcess(dataDir: string): Promise<{ port: number; stop(): Promise<void> }> {
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
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Drains the backlog of `gwDir` to a fresh router; returns readings/s. */
async function catchUp(gwDir: string, routerDir: string, n: number): Promise<number> {
  const router = await routerProcess(routerDir);
  const ing = await createIngestor({ dataDir: gwDir, durability: 'safe' });
  const sync = startSync(
    { dataDir: gwDir, durable: true, devices: ing },
    { upstream: `http://127.0.0.1:${router.port}`, gatewayId: 'bench-gw', batchMaxRecords: 10_000, batchMaxBytes: 4 * 1024 * 1024 },
  );
  const t0 = performance.now();
  try {
    for (;;) {
      const s = sync.status();
      if (s.counters.readingsSynced >= n) break;
      if (performance.now() - t0 > 3_600_000) throw new Error(`catch-up stalled: ${JSON.stringify(s)}`);
      await sleep(20);
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await sync.close();
    await ing.close();
    await router.stop();
  }
}

/** Runs the benchmark and prints its table. */
export async function runCatchUpBench(readings = 1_000_000, runs = 5, devices = 100): Promise<void> {
  const ingestRates: number[] = [];
  const catchUpRates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-catchup-'));
    try {
      ingestRates.push(await ingest(join(dir, 'gw'), readings, devices));
      catchUpRates.push(await catchUp(join(dir, 'gw'), join(dir, 'router'), readings));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printRateTable(`sync catch-up (${readings.toLocaleString('en-US')} readings, ${devices} devices, durability safe, router on loopback)`, [
    { name: 'ingest pipeline (gateway)', rates: ingestRates, unit: 'readings/s' },
    { name: 'catch-up gateway → router', rates: catchUpRates, baseline: 'ingest pipeline (gateway)', targetRatio: 2, unit: 'readings/s' },
  ]);
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runCatchUpBench(arg('readings', 1_000_000), arg('runs', 5), arg('devices', 100));
}
