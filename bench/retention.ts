/**
 * Retention benchmark (`npm run bench -- retention`): the real runner (src/gateway/retention)
 * over the real device pool trims half of one device's readings and copy-compacts it
 * while four other devices ingest through the same pool; the same trimmed instance is
 * compacted by liblmdb's `mdb_copy -c` as the baseline, in the same run.
 *
 * Data: one device with `LMJ_BENCH_RETENTION_READINGS` env-profile readings (default
 * 8,000, one every 10 s), written once and copied fresh into every round. Per round
 * (`LMJ_BENCH_RETENTION_RUNS`, default 3), interleaved:
 * 1. ingest alone: 4 devices, `safe` durability, batches of 20 readings through
 *    `pool.use(…).writeAsync(applyReadings)`, for 1 s;
 * 2. `runner.run(device)` with a max age that expires the oldest half, ingest running:
 *    trim (readings/s) and compaction (MB/s of the file, MB/s given back) timed apart
 *    by the runner's compaction hook, the ingest rate counted in each phase;
 * 3. `mdb_copy -c` of a copy of the trimmed instance (taken in the hook, outside the
 *    timed compaction), ingest running beside the separate process;
 * 4. ingest alone again for 1 s: the round's baseline is the mean of 1 and 4, so a load
 *    change during the round moves the baseline with it.
 * The runner's pacing and batch are the config defaults (`LMJ_BENCH_RETENTION_DUTY`,
 * `LMJ_BENCH_RETENTION_BATCH` override them). Medians of the rounds and of the per-round
 * ratios; `data.mdb` sizes before and after. ~35 s on an idle machine.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCodec } from '../src/codec/index.js';
import { openStore } from '../src/core/index.js';
import { applyReadings, messageIdentity, type ReadingInput } from '../src/core/telemetry/index.js';
import { createPool } from '../src/devices/pool/index.js';
import type { DevicePool } from '../src/devices/pool/index.js';
import { DEFAULT_DUTY_PERCENT } from '../src/gateway/retention/pacing.js';
import { RetentionRunner } from '../src/gateway/retention/runner.js';
import { createRng } from '../firmware-sim/rng.js';
import { envProfile } from '../firmware-sim/profiles/env.js';
import type { DeviceContext } from '../firmware-sim/profiles/types.js';
import { median, printRateTable } from './lib/report.js';

const SUBJECT = 'subject';
const INGEST_DEVICES = ['ing-0', 'ing-1', 'ing-2', 'ing-3'];
const INTERVAL_MS = 10_000;
const T0 = Date.UTC(2026, 10, 1);
const ALONE_MS = 1000;
const MB = 1024 * 1024;
/** The runner's pacing and transaction size: the config defaults unless the environment says otherwise. */
const DUTY_PERCENT = Number(process.env['LMJ_BENCH_RETENTION_DUTY'] ?? DEFAULT_DUTY_PERCENT);
const BATCH = Number(process.env['LMJ_BENCH_RETENTION_BATCH'] ?? 500);

function inputs(ctx: DeviceContext, from: number, count: number, ts: (i: number) => number): ReadingInput[] {
  const codec = getCodec();
  const out: ReadingInput[] = [];
  for (let i = from; i < from + count; i++) {
    const raw = Buffer.from(JSON.stringify(envProfile.reading(ctx, { seq: i, boot: 1, ts: ts(i) })));
    out.push({ flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt: ts(i) });
  }
  return out;
}

/** Writes the subject device once (copied into each round). */
async function template(dir: string, total: number): Promise<void> {
  const id = SUBJECT;
  const ctx: DeviceContext = { id, index: 0, rng: createRng(5), walks: new Map() };
  const store = openStore(join(dir, 'devices', id), { durability: 'fast', partition: getCodec().partitionOf(id) });
  for (let i = 0; i < total; i += 1000) store.write((t) => applyReadings(t, id, inputs(ctx, i, Math.min(1000, total - i), (j) => T0 + j * INTERVAL_MS)));
  await store.close();
}

/** Ingest into the other devices until stopped; `count()` = readings stored so far. */
function ingest(pool: DevicePool, seq: { n: number }): { count(): number; stop(): Promise<void> } {
  let stored = 0;
  let running = true;
  const loops = INGEST_DEVICES.map(async (id, d) => {
    const ctx: DeviceContext = { id, index: d + 1, rng: createRng(100 + d), walks: new Map() };
    while (running) {
      const batch = inputs(ctx, seq.n, 20, () => Date.now());
      seq.n += 20;
      const out = await pool.use(id, (s) => s.writeAsync((t) => applyReadings(t, id, batch)), { create: true });
      stored += out.filter((o) => o.status === 'stored').length;
    }
  });
  return {
    count: () => stored,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Readings the other devices store in ALONE_MS with nothing else running. */
async function ingestAlone(pool: DevicePool, seq: { n: number }): Promise<number> {
  const alone = ingest(pool, seq);
  await sleep(ALONE_MS);
  const n = alone.count();
  await alone.stop();
  return n;
}

function mdbCopyCompact(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('mdb_copy', ['-c', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mdb_copy -c exited ${code}: ${err}`))));
  });
}

interface Round {
  aloneRate: number;
  trimRate: number;
  trimIngestRate: number;
  compactMBps: number;
  freedMBps: number;
  compactIngestRate: number;
  mdbCopyMBps: number;
  mdbCopyIngestRate: number;
  bytesBefore: number;
  bytesAfter: number;
  mdbCopyBytes: number;
  expired: number;
}

async function round(tpl: string, dir: string, total: number): Promise<Round> {
  cpSync(join(tpl, 'devices', SUBJECT), join(dir, 'devices', SUBJECT), { recursive: true });
  const pool = createPool({ dataDir: dir, durability: 'safe' });
  const seq = { n: 0 };
  const baseline = join(dir, 'baseline');
  const marks: Record<string, number> = {};
  const counter = { count: (): number => 0 };
  const runner = new RetentionRunner({
    pool,
    settings: { defaults: { maxAgeMs: (total / 2) * INTERVAL_MS, maxBytes: undefined, dropUnsynced: false }, devices: new Map(), intervalMs: 0, batchReadings: BATCH, dutyPercent: DUTY_PERCENT },
    listDevices: () => [SUBJECT],
    onCompactStep: (_id, step) => {
      if (step !== 'before-copy') return;
      // The trimmed, closed instance: copied for the baseline before the compaction clock starts.
      marks['trimmed'] = performance.now();
      marks['trimCount'] = counter.count();
      cpSync(join(dir, 'devices', SUBJECT, 'data.mdb'), join(baseline, 'data.mdb'));
      marks['compact'] = performance.now();
      marks['compactCount'] = counter.count();
    },
  });
  mkdirSync(baseline, { recursive: true });
  mkdirSync(join(dir, 'baseline-out'), { recursive: true });
  try {
    const aloneBefore = await ingestAlone(pool, seq);
    const busy = ingest(pool, seq);
    counter.count = busy.count;
    const t0 = performance.now();
    const c0 = busy.count();
    const [run] = await runner.run(SUBJECT, T0 + total * INTERVAL_MS);
    const t1 = performance.now();
    const c1 = busy.count();
    const cTrim = marks['trimCount'] as number;
    if (run === undefined || !run.compacted || run.error !== undefined) throw new Error(`retention run did not compact: ${JSON.stringify(run)}`);
    const cBase = busy.count();
    const tb0 = performance.now();
    await mdbCopyCompact(baseline, join(dir, 'baseline-out'));
    const tb1 = performance.now();
    const cBaseEnd = busy.count();
    await busy.stop();
    const aloneAfter = await ingestAlone(pool, seq);
    const trimS = ((marks['trimmed'] as number) - t0) / 1000;
    const compactS = (t1 - (marks['compact'] as number)) / 1000;
    return {
      aloneRate: (aloneBefore + aloneAfter) / ((2 * ALONE_MS) / 1000),
      trimRate: run.expired / trimS,
      trimIngestRate: (cTrim - c0) / trimS,
      compactMBps: run.bytesBefore / MB / compactS,
      freedMBps: (run.bytesBefore - run.bytesAfter) / MB / compactS,
      compactIngestRate: (c1 - (marks['compactCount'] as number)) / compactS,
      mdbCopyMBps: run.bytesBefore / MB / ((tb1 - tb0) / 1000),
      mdbCopyIngestRate: (cBaseEnd - cBase) / ((tb1 - tb0) / 1000),
      bytesBefore: run.bytesBefore,
      bytesAfter: run.bytesAfter,
      mdbCopyBytes: statSync(join(dir, 'baseline-out', 'data.mdb')).size,
      expired: run.expired,
    };
  } finally {
    await pool.close();
  }
}

/** Each round's ingest rates over the same round's rate alone: medians of the per-round ratios. */
function printRoundRatios(rounds: readonly Round[]): void {
  const rows: [string, keyof Round][] = [
    ['during the trim', 'trimIngestRate'],
    ['during our compaction', 'compactIngestRate'],
    ['during mdb_copy -c (other process)', 'mdbCopyIngestRate'],
  ];
  console.log('\n## ingest of the other devices over the same round\'s ingest alone (per-round ratios)\n');
  console.log('| case | median | min..max | runs |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, k] of rows) {
    const r = rounds.map((x) => x[k] / x.aloneRate);
    console.log(`| ${name} | ${median(r).toFixed(2)}x | ${Math.min(...r).toFixed(2)}..${Math.max(...r).toFixed(2)} | ${r.length} |`);
  }
}

/** Runs the retention benchmark (section `retention` of `npm run bench`). */
export async function runRetentionBench(total = Number(process.env['LMJ_BENCH_RETENTION_READINGS'] ?? 8_000), runs = Number(process.env['LMJ_BENCH_RETENTION_RUNS'] ?? 3)): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'lmj-bench-retention-'));
  try {
    const tpl = join(root, 'template');
    const w0 = performance.now();
    await template(tpl, total);
    console.log(`\n# retention: ${total.toLocaleString('en-US')} readings written in ${((performance.now() - w0) / 1000).toFixed(1)} s; half expire per round; ${BATCH} per delete transaction, duty cycle ${DUTY_PERCENT} %; load average ${loadavg()[0]?.toFixed(1)}`);
    const rounds: Round[] = [];
    for (let i = 0; i < runs; i++) rounds.push(await round(tpl, join(root, `run-${i}`), total));
    const col = (k: keyof Round): number[] => rounds.map((r) => r[k]);
    printRateTable('ingest of 4 other devices (safe durability, batches of 20)', [
      { name: 'alone', rates: col('aloneRate'), unit: 'readings/s' },
      { name: 'during the trim', rates: col('trimIngestRate'), baseline: 'alone', unit: 'readings/s' },
      { name: 'during our compaction', rates: col('compactIngestRate'), baseline: 'alone', unit: 'readings/s' },
      { name: 'during mdb_copy -c (other process)', rates: col('mdbCopyIngestRate'), baseline: 'alone', unit: 'readings/s' },
    ]);
    printRoundRatios(rounds);
    printRateTable('compaction of the trimmed instance (MB of data.mdb per second)', [
      { name: 'mdb_copy -c (liblmdb, baseline)', rates: col('mdbCopyMBps'), unit: 'MB/s' },
      { name: 'record copy in a worker + fsync + rename (ours)', rates: col('compactMBps'), baseline: 'mdb_copy -c (liblmdb, baseline)', unit: 'MB/s' },
    ]);
    printRateTable(`trim (delete transactions of ${BATCH} readings through the pool, duty cycle ${DUTY_PERCENT} %)`, [{ name: 'trim', rates: col('trimRate'), unit: 'readings/s' }]);
    printRateTable('disk given back by our compaction', [{ name: 'freed', rates: col('freedMBps'), unit: 'MB/s' }]);
    const mb = (k: keyof Round): string => (median(col(k)) / MB).toFixed(2);
    console.log(`data.mdb: ${mb('bytesBefore')} MB before, ${mb('bytesAfter')} MB after our compaction, ${mb('mdbCopyBytes')} MB after mdb_copy -c; ${median(col('expired')).toLocaleString('en-US')} readings expired per round; load average ${loadavg()[0]?.toFixed(1)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runRetentionBench();
