/**
 * `npm run bench -- bad-input`: what a flood of bad input costs the good devices.
 * One ingest pipeline (real LMDB files in a temp dir, durability `safe`); canary devices
 * submit valid readings in windows of 256, once alone and once while another submitter
 * floods invalid JSON (dead-lettered durably) as fast as the pipeline takes it. Runs
 * alternate in the same process; the table shows canary readings/s, medians, the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIngestor, type Ingestor } from '../src/gateway/ingest/index.js';
import { printRateTable } from './lib/report.js';

const CANARIES = 8;
const PER_RUN = 4000;
const WINDOW = 256;
const RUNS = 5;
/** Canary results reported `duplicate` for payloads never sent before (printed: an open point under investigation). */
let duplicates = 0;

/** Submits PER_RUN valid readings over the canaries; returns readings/s. */
async function canaryRun(ing: Ingestor, base: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < PER_RUN; i += WINDOW) {
    const window = Array.from({ length: WINDOW }, (_, j) => {
      const seq = base + i + j;
      return ing.submit({ topic: `devices/canary-${seq % CANARIES}/telemetry`, payload: Buffer.from(JSON.stringify({ seq, temp: 20 + (seq % 10) })), qos: 1 });
    });
    for (const r of await Promise.all(window)) {
      if (r.status === 'duplicate') duplicates++;
      else if (r.status !== 'stored') throw new Error(`canary not stored: ${JSON.stringify(r)} (seq ${base + i})`);
    }
  }
  return PER_RUN / ((performance.now() - t0) / 1000);
}

/** Floods bad JSON until `stop()`; returns how many were rejected. */
function flood(ing: Ingestor): { stop(): Promise<number> } {
  let running = true;
  let rejected = 0;
  const loop = (async () => {
    for (let n = 0; running; n += WINDOW) {
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
  };
}

/** Runs the section and prints its table. */
export async function runBadInputBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-bad-'));
  const ing = await createIngestor({ dataDir: dir, durability: 'safe', deadLetters: { maxCount: 1_000_000, maxBytes: 1 << 30 } });
  try {
    const alone: number[] = [];
    const flooded: number[] = [];
    let badTotal = 0;
    await canaryRun(ing, 0);
    for (let run = 0; run < RUNS; run++) {
      alone.push(await canaryRun(ing, (2 * run + 1) * PER_RUN));
      const f = flood(ing);
      flooded.push(await canaryRun(ing, (2 * run + 2) * PER_RUN));
      badTotal += await f.stop();
    }
    printRateTable(`bad input vs. canaries (${CANARIES} devices, ${PER_RUN} readings per run, durability safe)`, [
      { name: 'canaries alone', rates: alone, unit: 'readings/s' },
      { name: 'canaries + bad-JSON flood', rates: flooded, baseline: 'canaries alone', unit: 'readings/s' },
    ]);
    console.log(`canary results reported duplicate: ${duplicates}`);
    console.log(`\nbad messages dead-lettered during the flooded runs: ${badTotal} (${Math.round(badTotal / RUNS)} per run)`);
  } finally {
    await ing.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
