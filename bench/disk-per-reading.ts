/**
 * `node dist/bench/disk-per-reading.js`: bytes of disk per stored reading, per sensor
 * profile, for lmj-edge (the device instances' LMDB pages in use, from `mdb_stat`)
 * beside the SQLite baseline of bench/sqlite-baseline.ts (the same JSON rows in one
 * SQLite file with an index on (device, ts); pages in use = page_count − freelist_count
 * after a WAL checkpoint). Deterministic: the same seeded firmware-sim payloads go
 * through the real ingest pipeline in-process (no broker), `--inflight` per device at a
 * time as the simulator sends them, so the device commits have the simulator's group sizes.
 * `--base DIR` adds the same measurement for another build (a checkout with its dist/).
 *
 * Usage: node dist/bench/disk-per-reading.js [--devices 10] [--readings 2000] [--inflight 32] [--base DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeDocument } from '../firmware-sim/encode.js';
import { BUILTIN_PROFILES, type DeviceContext } from '../firmware-sim/profiles/index.js';
import { createRng } from '../firmware-sim/rng.js';
import type { Ingestor } from '../src/gateway/ingest/types.js';
import { numArg, strArg } from './lib/args.js';
import { dataDirPages } from './lib/lmdb-pages.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = resolve(HERE, '..', '..');

interface SqliteDb {
  pragma(s: string, o?: { simple: boolean }): unknown;
  exec(sql: string): void;
  prepare(sql: string): { run(...args: unknown[]): unknown };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}


/** Per device, its readings of `profile` as JSON payloads (seeded). */
function payloads(profile: string, devices: number, readings: number): Buffer[][] {
  const p = BUILTIN_PROFILES[profile]!;
  const t0 = Date.UTC(2026, 11, 1);
  return Array.from({ length: devices }, (_, d) => {
    const dev: DeviceContext = { id: `sim-${d}`, index: d, rng: createRng(1000 + d), walks: new Map() };
    return Array.from({ length: readings }, (_, i) => encodeDocument(p.reading(dev, { seq: i, boot: 1, ts: t0 + i * 1000 }), 'json'));
  });
}

/** Ingests every device's payloads with `inflight` outstanding per device; returns bytes per reading. */
async function lmjBytes(root: string, all: Buffer[][], inflight: number): Promise<{ inUse: number; file: number }> {
  const { createIngestor } = (await import(pathToFileURL(join(root, 'dist', 'src', 'gateway', 'ingest', 'index.js')).href)) as {
    createIngestor(o: { dataDir: string; durability: 'fast' }): Promise<Ingestor>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-disk-'));
  try {
    const ing = await createIngestor({ dataDir: dir, durability: 'fast' });
    let stored = 0;
    await Promise.all(
      all.map(async (list, d) => {
        for (let i = 0; i < list.length; i += inflight) {
          const results = await Promise.all(list.slice(i, i + inflight).map((payload) => ing.submit({ topic: `devices/sim-${d}/telemetry`, payload, qos: 1 })));
          for (const r of results) if (r.status === 'stored') stored++;
        }
      }),
    );
    await ing.close();
    const pages = dataDirPages(dir);
    return { inUse: pages.inUseBytes / stored, file: pages.fileBytes / stored };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The SQLite baseline's bytes per reading for the same rows, committed 500 at a time. */
function sqliteBytes(all: Buffer[][]): number {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => SqliteDb;
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-disk-sqlite-'));
  try {
    const db = new Database(join(dir, 'readings.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE readings (device TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL)');
    db.exec('CREATE INDEX readings_device_ts ON readings (device, ts)');
    const insert = db.prepare('INSERT INTO readings (device, ts, body) VALUES (?, ?, ?)');
    const commit = db.transaction((rows: [string, number, string][]) => {
      for (const r of rows) insert.run(...r);
    });
    let rows: [string, number, string][] = [];
    let n = 0;
    const longest = Math.max(...all.map((l) => l.length));
    for (let i = 0; i < longest; i++) {
      for (const [d, list] of all.entries()) {
        const p = list[i];
        if (p === undefined) continue;
        rows.push([`sim-${d}`, Date.now(), JSON.stringify(JSON.parse(p.toString()))]);
        n++;
        if (rows.length === 500) [commit(rows), (rows = [])];
      }
    }
    commit(rows);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
    const size = Number(db.pragma('page_size', { simple: true }));
    db.close();
    return (pages * size) / n;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Runs every profile and prints one table. */
export async function runDiskBench(devices = 10, readings = 2000, inflight = 32, base?: string): Promise<void> {
  console.log(`\n## disk per reading: ${devices} devices × ${fmt(readings)} readings per profile, ${inflight} in flight per device\n`);
  const head = ['profile', 'payload B', 'lmj-edge B/reading (in use)', 'file', ...(base === undefined ? [] : [`base ${base} (in use)`]), 'SQLite B/reading', 'vs SQLite', 'target'];
  const rows: string[][] = [head];
  for (const profile of Object.keys(BUILTIN_PROFILES)) {
    const all = payloads(profile, devices, readings);
    const payloadB = all.flat().reduce((a, p) => a + p.length, 0) / (devices * readings);
    const lmj = await lmjBytes(SELF, all, inflight);
    const old = base === undefined ? undefined : await lmjBytes(resolve(base), all, inflight);
    const sq = sqliteBytes(all);
    const target = profile === 'env' ? `${lmj.inUse <= 700 ? 'met' : `MISSED by ${fmt(lmj.inUse - 700)} B`} <=700 B` : '';
    rows.push([profile, fmt(payloadB), fmt(lmj.inUse), fmt(lmj.file), ...(old === undefined ? [] : [fmt(old.inUse)]), fmt(sq), `${(lmj.inUse / sq).toFixed(2)}x`, target]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
  console.log('\nin use = data.mdb pages holding data (mdb_stat: pages used − free pages) over stored readings; file = data.mdb up to its last page.');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runDiskBench(numArg('devices', 10, true), numArg('readings', 2000, true), numArg('inflight', 32, true), strArg('base'));
}
