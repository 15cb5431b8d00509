/**
 * Dashboard benchmark (`npm run bench -- dashboard`, or `node dist/bench/dashboard.js`),
 * against an in-process daemon listening on loopback:
 *
 * 1. Page load with 1,000 devices in headless Chromium (/usr/bin/chromium): time from
 *    navigation start to the device list rendered (the page's `lmj-devices-rendered`
 *    mark), against the same page with 10 devices.
 * 2. A 24 h chart of 1 Hz data (86,400 readings of one device): the series endpoint
 *    (1,000 buckets of min/avg/max/count) against the raw-readings baseline (every
 *    reading of the range paged through `/devices/:id/readings?limit=1000&fields=`):
 *    request time and bytes sent.
 *
 * Medians of `--runs` (default 3; a page load and the series after one warm-up). The
 * 86,400 readings are written into the device's instance before the daemon starts
 * (setup, not measured); the 1,000 devices are ingested through the pipeline.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getCodec } from '../src/codec/index.js';
import { openStore } from '../src/core/index.js';
import { applyReadings, messageIdentity, type ReadingInput } from '../src/core/telemetry/index.js';
import { defaultConfig, type GatewayConfig } from '../src/gateway/config/index.js';
import { startDaemon, type Daemon } from '../src/gateway/daemon.js';
import { numArg } from './lib/args.js';
import { median } from './lib/report.js';

const DAY_MS = 86_400_000;
const SERIES_BUCKETS = 1000;

function config(dataDir: string): GatewayConfig {
  const c = defaultConfig();
  return { ...c, dataDir, durability: 'fast', mqtt: { ...c.mqtt, port: 0 }, http: { ...c.http, port: 0 }, log: { ...c.log, level: 'warn' } };
}

/**
 * Writes one reading per second of `[t0, t0 + count s)` for `deviceId` straight into
 * its instance (the daemon's layout, before the daemon starts): setup, not measured.
 */
async function writeSeries(dataDir: string, deviceId: string, t0: number, count: number): Promise<void> {
  const codec = getCodec();
  const path = join(dataDir, 'devices', deviceId);
  mkdirSync(path, { recursive: true });
  const store = openStore(path, { durability: 'fast', codec, partition: codec.partitionOf(deviceId) });
  try {
    for (let start = 0; start < count; start += 4096) {
      const inputs: ReadingInput[] = [];
      for (let i = start; i < Math.min(count, start + 4096); i++) {
        const raw = Buffer.from(JSON.stringify({ env: { temp: 20 + 5 * Math.sin(i / 3600), hum: 50 + (i % 600) / 60 }, seq: i }));
        inputs.push({ flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt: t0 + i * 1000 });
      }
      store.write((txn) => applyReadings(txn, deviceId, inputs));
    }
  } finally {
    await store.close();
  }
}

async function ingestDevices(d: Daemon, count: number): Promise<void> {
  const now = Date.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      d.ingestor.submit({ topic: `devices/dev-${String(i).padStart(4, '0')}/telemetry`, payload: Buffer.from(JSON.stringify({ v: i })), qos: 1, receivedAt: now - i * 1000 }),
    ),
  );
}

/** Median ms from navigation start to the rendered device list. */
async function pageLoad(url: string, runs: number): Promise<number[]> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const out: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url);
      await page.waitForFunction(() => performance.getEntriesByName('lmj-devices-rendered').length === 1);
      const ms = await page.evaluate(() => performance.getEntriesByName('lmj-devices-rendered')[0]!.startTime);
      await page.close();
      if (i > 0) out.push(ms);
    }
    return out;
  } finally {
    await browser.close();
  }
}

/** One GET: elapsed ms and body bytes. */
async function timedGet(url: string): Promise<{ ms: number; bytes: number; body: any }> {
  const t = performance.now();
  const res = await fetch(url);
  const buf = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${buf.toString().slice(0, 200)}`);
  return { ms, bytes: buf.length, body: JSON.parse(buf.toString()) };
}

async function seriesOnce(base: string, t0: number): Promise<{ ms: number; bytes: number; readings: number }> {
  const r = await timedGet(`${base}/devices/day/series?fields=env.temp&from=${t0}&to=${t0 + DAY_MS}&buckets=${SERIES_BUCKETS}`);
  return { ms: r.ms, bytes: r.bytes, readings: r.body.readings };
}

async function rawOnce(base: string, t0: number): Promise<{ ms: number; bytes: number; readings: number }> {
  let ms = 0;
  let bytes = 0;
  let readings = 0;
  let cursor: string | null = null;
  do {
    const c: string = cursor === null ? '' : `&cursor=${cursor}`;
    const r = await timedGet(`${base}/devices/day/readings?fields=env.temp&from=${t0}&to=${t0 + DAY_MS}&limit=1000${c}`);
    ms += r.ms;
    bytes += r.bytes;
    readings += r.body.readings.length;
    cursor = r.body.next;
  } while (cursor !== null);
  return { ms, bytes, readings };
}

interface Row {
  name: string;
  values: number[];
  unit: string;
  baseline?: string;
}

function printTable(title: string, rows: Row[]): void {
  const med = new Map(rows.map((r) => [r.name, median(r.values)]));
  const f = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  const lines = [['case', 'median', 'min..max', 'runs', 'ratio']];
  for (const r of rows) {
    const m = med.get(r.name)!;
    const b = r.baseline === undefined ? undefined : med.get(r.baseline);
    lines.push([r.name, `${f(m)} ${r.unit}`, `${f(Math.min(...r.values))}..${f(Math.max(...r.values))}`, String(r.values.length), b === undefined ? '(baseline)' : `${(m / b).toFixed(3)}x ${r.baseline}`]);
  }
  const w = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log(`\n## ${title}\n`);
  for (const [i, l] of lines.entries()) {
    console.log(`| ${l.map((c, j) => c.padEnd(w[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${w.map((x) => '-'.repeat(x)).join(' | ')} |`);
  }
}

/** Runs both parts and prints their tables. */
export async function runDashboardBench(runs = 3, devices = 1000, readings = 86_400): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-dashboard-'));
  let small: Daemon | undefined;
  let big: Daemon | undefined;
  try {
    const t0 = Date.now() - DAY_MS;
    await writeSeries(join(dir, 'big'), 'day', t0, readings);
    small = await startDaemon(config(join(dir, 'small')));
    big = await startDaemon(config(join(dir, 'big')));
    await ingestDevices(small, 10);
    await ingestDevices(big, devices);

    const smallLoad = await pageLoad(`http://127.0.0.1:${small.http.port}/`, runs);
    const bigLoad = await pageLoad(`http://127.0.0.1:${big.http.port}/`, runs);
    printTable('dashboard page: navigation start → device list rendered (headless Chromium)', [
      { name: 'page, 10 devices', values: smallLoad, unit: 'ms' },
      { name: `page, ${devices.toLocaleString('en-US')} devices`, values: bigLoad, unit: 'ms', baseline: 'page, 10 devices' },
    ]);

    const base = `http://127.0.0.1:${big.http.port}`;
    const raw: { ms: number; bytes: number; readings: number }[] = [];
    const ser: { ms: number; bytes: number; readings: number }[] = [];
    // The raw walk (~90 requests) is its own warm-up; the series gets one.
    await seriesOnce(base, t0);
    for (let i = 0; i < runs; i++) {
      raw.push(await rawOnce(base, t0));
      ser.push(await seriesOnce(base, t0));
    }
    if (raw.some((r) => r.readings !== readings) || ser.some((r) => r.readings !== readings)) {
      throw new Error(`expected ${readings} readings in range, got raw ${raw.map((r) => r.readings)} series ${ser.map((r) => r.readings)}`);
    }
    printTable(`24 h of 1 Hz data (${readings.toLocaleString('en-US')} readings, field env.temp): series (${SERIES_BUCKETS} buckets) vs raw readings`, [
      { name: 'raw readings, request time', values: raw.map((r) => r.ms), unit: 'ms' },
      { name: 'series, request time', values: ser.map((r) => r.ms), unit: 'ms', baseline: 'raw readings, request time' },
      { name: 'raw readings, bytes sent', values: raw.map((r) => r.bytes / 1024), unit: 'KiB' },
      { name: 'series, bytes sent', values: ser.map((r) => r.bytes / 1024), unit: 'KiB', baseline: 'raw readings, bytes sent' },
    ]);
  } finally {
    await small?.stop();
    await big?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runDashboardBench(numArg('runs', 3, true), numArg('devices', 1000, true), numArg('readings', 86_400, true));
}
