/**
 * `npm run bench -- bad-input`: what a flood of bad input costs the good devices.
 * One ingest pipeline (real LMDB files in a temp dir, durability `safe`); canary devices
 * submit valid readings in windows of 256, once alone and once while another submitter
 * floods invalid JSON (dead-lettered durably) as fast as the pipeline takes it. Runs
 * alternate in the same process; the table shows canary readings/s, medians, the ratio,
 * and the process's CPU and main-thread event-loop utilization in either phase (is the
 * flood's cost CPU on the one JS thread, or waiting on a shared write path?).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createIngestor, type Ingestor } from '../src/gateway/ingest/index.js';
import { median, printRateTable } from './lib/report.js';

const CANARIES = 8;
const PER_RUN = 4000;
const WINDOW = 256;
const RUNS = 5;

/** What one canary run measured: readings/s, process CPU (cores busy) and main-thread event-loop utilization. */
interface RunProfile {
  rate: number;
  cores: number;
  elu: number;
}

/**
 * Submits PER_RUN valid readings over the canaries (the last window short, so runs never
 * overlap: with 16 full windows each run re-sent the next run's first 96 payloads, which
 * came back `duplicate`); every result must be `stored`.
 */
async function canaryRun(ing: Ingestor, base: number): Promise<RunProfile> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  for (let i = 0; i < PER_RUN; i += WINDOW) {
    const window = Array.from({ length: Math.min(WINDOW, PER_RUN - i) }, (_, j) => {
      const seq = base + i + j;
      return ing.submit({ topic: `devices/canary-${seq % CANARIES}/telemetry`, payload: Buffer.from(JSON.stringify({ seq, temp: 20 + (seq % 10) })), qos: 1 });
    });
    for (const r of await Promise.all(window)) {
      if (r.status !== 'stored') throw new Error(`canary not stored: ${JSON.stringify(r)} (seq ${base + i})`);
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: PER_RUN / (ms / 1000), cores: (cpu.user + cpu.system) / 1000 / ms, elu: performance.eventLoopUtilization(elu0).utilization };
}

/** Floods bad JSON until `stop()` (or `limit` messages); `stop` returns how many were rejected. */
function flood(ing: Ingestor, limit = Infinity): { stop(): Promise<number>; done: Promise<void> } {
  let running = true;
  let rejected = 0;
  const loop = (async () => {
    for (let n = 0; running && n < limit; n += WINDOW) {
      const window = Array.from({ length: WINDOW }, (_, j) =>
        ing.submit({ topic: `devices/bad-${(n + j) % 100}/telemetry`, payload: Buffer.from(`{"seq":${n + j},`), qos: 1 }),
      );
      for (const r of await Promise.all(window)) if (r.status === 'rejected' && r.code === 'BAD_JSON') rejected++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return rejected;
    },
    done: loop,
  };
}

/**
 * Main-thread CPU per bad message, the flood alone: what each one takes from the JS
 * thread the good devices share (less sensitive to a loaded machine than a rate).
 */
async function cpuPerBadMessage(ing: Ingestor, count: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const f = flood(ing, count);
  await f.done;
  const cpu = process.cpuUsage(cpu0);
  const rejected = await f.stop();
  if (rejected !== count) throw new Error(`flood: ${rejected} of ${count} rejected as BAD_JSON`);
  return (cpu.user + cpu.system) / count;
}

/** Runs the section and prints its table. */
export async function runBadInputBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-bad-'));
  const ing = await createIngestor({ dataDir: dir, durability: 'safe', deadLetters: { maxCount: 1_000_000, maxBytes: 1 << 30 } });
  try {
    const alone: RunProfile[] = [];
    const flooded: RunProfile[] = [];
    let badTotal = 0;
    await canaryRun(ing, 0);
    for (let run = 0; run < RUNS; run++) {
      alone.push(await canaryRun(ing, (2 * run + 1) * PER_RUN));
      const f = flood(ing);
      flooded.push(await canaryRun(ing, (2 * run + 2) * PER_RUN));
      badTotal += await f.stop();
    }
    const perBad: number[] = [];
    for (let run = 0; run < RUNS; run++) perBad.push(await cpuPerBadMessage(ing, 4096));
    printRateTable(`bad input vs. canaries (${CANARIES} devices, ${PER_RUN} readings per run, durability safe, UV_THREADPOOL_SIZE ${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'})`, [
      { name: 'canaries alone', rates: alone.map((r) => r.rate), unit: 'readings/s' },
      { name: 'canaries + bad-JSON flood', rates: flooded.map((r) => r.rate), baseline: 'canaries alone', unit: 'readings/s' },
    ]);
    const profile = (rs: RunProfile[]): string => `CPU ${median(rs.map((r) => r.cores)).toFixed(2)} cores, main-thread event loop ${Math.round(median(rs.map((r) => r.elu)) * 100)} % busy`;
    console.log(`alone: ${profile(alone)}; with the flood: ${profile(flooded)} (medians; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)})`);
    console.log(`bad messages dead-lettered during the flooded runs: ${badTotal} (${Math.round(badTotal / RUNS)} per run)`);
    console.log(`process CPU per dead-lettered bad message, flood alone: ${median(perBad).toFixed(1)} µs median (${perBad.map((v) => v.toFixed(1)).join(', ')})`);
  } finally {
    await ing.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
