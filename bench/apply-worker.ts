/**
 * The journal's device commits on the main thread vs in the device-apply worker
 * (`journal.applyWorker`), in process, same run, alternating: 100 devices, ~150 B JSON
 * env readings, durable (`safe`), submitted in waves of 2,000 as fast as the acks come.
 * Per mode (median of `--runs`): acked msg/s (journal fdatasync), applied msg/s (all of
 * it in the devices, flush), ack latency p50/p99 of a wave, and the main thread's busy
 * time per message (event-loop utilization: what the broker and the HTTP reads compete
 * with) beside the process's CPU per message (both threads), and the pool's instance
 * opens per device commit (the worker keeps a hot device's instance lent across groups).
 *
 * Usage: node dist/bench/apply-worker.js [--runs 3] [--messages 20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createIngestor } from '../src/gateway/ingest/index.js';
import { numArg } from './lib/args.js';
import { median, quantile } from './lib/report.js';

const RUNS = numArg('runs', 3, true);
const MESSAGES = numArg('messages', 20_000, true);
const DEVICES = 100;
const WAVE = 2000;

interface Sample {
  acked: number;
  applied: number;
  p50: number;
  p99: number;
  mainUs: number;
  cpuUs: number;
  /** Instance opens (pool opens and worker loans) per device commit. */
  opensPerCommit: number;
}

function payload(i: number): Buffer {
  return Buffer.from(JSON.stringify({ env: { temp: 20 + (i % 10) / 10, hum: 40 + (i % 7), pres: 1013.2, co2: 400 + (i % 50), voc: 0.1 }, bat: 3.7, rssi: -60, seq: i, fw: '1.4.2', up: i * 3 }));
}

async function once(worker: boolean): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-applyw-'));
  let commits = 0;
  const ing = await createIngestor({ dataDir: dir, durability: 'safe', journal: { applyWorker: worker }, hooks: { commit: () => void commits++ } });
  try {
    // Warm-up: every device's instance exists, the worker thread is up.
    await Promise.all(Array.from({ length: DEVICES }, (_, d) => ing.submit({ topic: `devices/d-${d}/telemetry`, payload: payload(-1 - d), qos: 1 })));
    await ing.flush();
    const opens0 = ing.stats().pool.opens;
    const commits0 = commits;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const lat: number[] = [];
    for (let sent = 0; sent < MESSAGES; sent += WAVE) {
      const wave = Array.from({ length: Math.min(WAVE, MESSAGES - sent) }, (_, k) => {
        const i = sent + k;
        const at = performance.now();
        return ing.submit({ topic: `devices/d-${i % DEVICES}/telemetry`, payload: payload(i), qos: 1 }).then((r) => {
          if (r.status !== 'accepted') throw new Error(`not acked: ${JSON.stringify(r)}`);
          lat.push(performance.now() - at);
        });
      });
      await Promise.all(wave);
    }
    const tAck = performance.now();
    await ing.flush();
    const tApplied = performance.now();
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    return {
      acked: MESSAGES / ((tAck - t0) / 1000),
      applied: MESSAGES / ((tApplied - t0) / 1000),
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      mainUs: (elu.active * 1000) / MESSAGES,
      cpuUs: (cpu.user + cpu.system) / MESSAGES,
      opensPerCommit: (ing.stats().pool.opens - opens0) / Math.max(1, commits - commits0),
    };
  } finally {
    await ing.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const samples: Record<'main' | 'worker', Sample[]> = { main: [], worker: [] };
const load0 = loadavg().map((l) => l.toFixed(1)).join(' ');
for (let r = 0; r < RUNS; r++) {
  samples.main.push(await once(false));
  samples.worker.push(await once(true));
}
const med = (mode: 'main' | 'worker', k: keyof Sample): number => median(samples[mode].map((s) => s[k]));
console.log(`\n## apply worker: ${DEVICES} devices, ${fmt(MESSAGES)} messages, safe, median of ${RUNS} (alternating)\n`);
console.log(`load average at start ${load0}, at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log('| device commits | acked msg/s | applied msg/s | ack p50/p99 ms | main-thread busy µs/msg | process CPU µs/msg | instance opens per device commit |');
console.log('|---|---|---|---|---|---|---|');
for (const mode of ['main', 'worker'] as const) {
  const ratio = (k: keyof Sample): string => (mode === 'main' ? '' : ` (${(med('worker', k) / med('main', k)).toFixed(2)}x)`);
  console.log(
    `| ${mode === 'main' ? 'main thread (baseline)' : 'apply worker'} | ${fmt(med(mode, 'acked'))}${ratio('acked')} | ${fmt(med(mode, 'applied'))}${ratio('applied')} | ${fmt(med(mode, 'p50'))}/${fmt(med(mode, 'p99'))} | ${med(mode, 'mainUs').toFixed(1)}${ratio('mainUs')} | ${med(mode, 'cpuUs').toFixed(1)}${ratio('cpuUs')} | ${med(mode, 'opensPerCommit').toFixed(2)} |`,
  );
}
