/**
 * Cluster routing benchmark: the same pre-built uplink batches (a gateway's backlog,
 * `devices` devices) applied (a) straight to one data node (`POST /cluster/v1/apply`
 * with the routing claim — the baseline) and (b) through one cluster router to 1, 2
 * and 3 data nodes. Every case runs on fresh processes and a fresh table (its own
 * group scope in one etcd), ranges assigned before timing. Two streams over disjoint
 * devices, each batch after the previous one, as the uplink sends (2 in flight).
 * Reports readings/s and CPU per reading (user + system of the router and node
 * processes, from /proc). Nodes run durability `fast`: the apply is at its cheapest, so
 * the routing share is at its largest.
 *
 * Usage: node dist/bench/cluster.js [--readings 20000] [--runs 3] [--devices 100]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { connectEtcd, initTable, readTable, scopeTo, setOwner } from '../src/cluster/index.js';
import { getCodec } from '../src/codec/index.js';
import { exportRecords } from '../src/core/telemetry/records.js';
import type { ReadingRecord } from '../src/core/telemetry/types.js';
import { createIngestor } from '../src/gateway/ingest/index.js';
import { encodeBatch } from '../src/sync/batch.js';
import { numArg } from './lib/args.js';
import { cpuSeconds, freePort, spawnReady, stop } from './lib/procs.js';
import { median, printRateTable } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(HERE, '..'), 'src', 'cli', 'main.js');
const PER_BATCH = 2000;

interface Proc {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Starts `lmj-edge ARGS` and resolves once it prints the port it listens on (`ready`'s first group). */
async function startCli(args: string[], ready: RegExp): Promise<Proc> {
  const { proc, matches } = await spawnReady(process.execPath, [CLI, ...args], [ready]);
  return { proc, port: Number(matches[0]![1]), stop: () => stop(proc) };
}

/** A backlog of `n` readings over `devices` devices, exported as the uplink would. */
export async function backlog(dir: string, n: number, devices: number): Promise<Map<string, ReadingRecord[]>> {
  const ing = await createIngestor({ dataDir: dir, durability: 'fast' });
  await Promise.all(Array.from({ length: 200 }, async (_, w) => {
    for (let i = w; i < n; i += 200) {
      const payload = Buffer.from(JSON.stringify({ seq: i, temp: 20 + (i % 100) / 10, hum: 40 + (i % 37), pressure: 1013.2, battery: 3.71 }));
      const r = await ing.submit({ topic: `devices/bench-${i % devices}/telemetry`, payload, qos: 1 });
      if (r.status !== 'stored') throw new Error(JSON.stringify(r));
    }
  }));
  const out = new Map<string, ReadingRecord[]>();
  for (let d = 0; d < devices; d++) out.set(`bench-${d}`, await ing.withDevice(`bench-${d}`, (s) => s.read((txn) => exportRecords(txn, undefined, 1_000_000))));
  await ing.close();
  return out;
}

/** Two streams of batches over disjoint devices (even / odd), each batch ≤ PER_BATCH records. */
function streams(records: Map<string, ReadingRecord[]>): Buffer[][] {
  const ids = [...records.keys()];
  return [0, 1].map((half) => {
    const mine = ids.filter((_, i) => i % 2 === half);
    const perDevice = Math.max(1, Math.floor(PER_BATCH / mine.length));
    const rounds = Math.max(...mine.map((id) => Math.ceil(records.get(id)!.length / perDevice)));
    return Array.from({ length: rounds }, (_, r) =>
      encodeBatch({ gatewayId: 'bench-gw', seq: r, devices: mine.map((id) => ({ deviceId: id, records: records.get(id)!.slice(r * perDevice, (r + 1) * perDevice) })).filter((d) => d.records.length > 0) }),
    );
  });
}

/** One case: `nodes` nodes, through a router or straight; returns readings/s and CPU µs per reading. */
async function runCase(etcd: string, scope: string, nodes: number, viaRouter: boolean, batches: Buffer[][], ids: string[], n: number): Promise<{ rate: number; cpuUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-cluster-'));
  const root = connectEtcd([etcd]);
  const client = scopeTo(root, scope);
  const procs: Proc[] = [];
  try {
    await initTable(client, 256);
    for (let i = 0; i < nodes; i++) {
      procs.push(await startCli(['node', '--etcd', etcd, '--group', scope, '--node-id', `n${i}`, '--data', join(dir, `n${i}`), '--http-port', '0', '--durability', 'fast', '--log-level', 'warn'], /listening on .*:(\d+)/));
    }
    // Ranges spread round-robin before timing (what first-batch assignment does on idle nodes).
    const froms = [...new Set(ids.map((id) => getCodec().partitionOf(id) >> 8 << 8))];
    for (const [i, from] of froms.entries()) await setOwner(client, from, { kind: 'node', id: `n${i % nodes}` });
    const table = (await readTable(client))!;
    let target: string;
    let path: string;
    const headers: Record<string, string> = { 'content-type': 'application/cbor', 'x-lmj-gateway': 'bench-gw' };
    if (viaRouter) {
      procs.push(await startCli(['router', '--etcd', etcd, '--group', scope, '--http-port', '0', '--log-level', 'warn'], /listening on .*:(\d+)/));
      target = `http://127.0.0.1:${procs[procs.length - 1]!.port}`;
      path = '/sync/v1/batch';
    } else {
      target = `http://127.0.0.1:${procs[0]!.port}`;
      path = '/cluster/v1/apply';
      headers['x-lmj-route'] = [...new Set(ids.map((id) => table.rangeOf(getCodec().partitionOf(id))))].map((r) => `${r.from}:${r.epoch}`).join(',');
    }
    const cpu0 = procs.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0);
    const t0 = performance.now();
    await Promise.all(batches.map(async (stream) => {
      for (const body of stream) {
        const res = await request(`${target}${path}`, { method: 'POST', headers, body });
        const text = await res.body.text();
        if (res.statusCode !== 200 || text.includes('"error"')) throw new Error(`batch refused: ${res.statusCode} ${text.slice(0, 300)}`);
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    const cpu = procs.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0) - cpu0;
    return { rate: n / secs, cpuUs: (cpu / n) * 1e6 };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    root.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts etcd on a free port for the run (also used by bench/expansion.ts). */
export async function etcdProcess(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const [c, p] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${c}`;
  const proc = spawn('etcd', ['--data-dir', join(dir, 'etcd'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', `http://127.0.0.1:${p}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p}`, '--initial-cluster', `default=http://127.0.0.1:${p}`, '--log-level', 'error', '--logger', 'zap'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  for (let i = 0; ; i++) {
    try {
      if ((await (await fetch(`${url}/health`)).json() as { health?: string }).health === 'true') break;
    } catch {
      if (i > 200) throw new Error('etcd did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: async () => { proc.kill('SIGKILL'); await exited; } };
}

/** Runs the benchmark and prints its table. */
export async function runClusterBench(readings = 20_000, runs = 3, devices = 100): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-cluster-'));
  const etcd = await etcdProcess(dir);
  try {
    const records = await backlog(join(dir, 'gw'), readings, devices);
    const batches = streams(records);
    const ids = [...records.keys()];
    const cases: { name: string; nodes: number; via: boolean }[] = [
      { name: 'straight to 1 node', nodes: 1, via: false },
      { name: 'router → 1 node', nodes: 1, via: true },
      { name: 'router → 2 nodes', nodes: 2, via: true },
      { name: 'router → 3 nodes', nodes: 3, via: true },
    ];
    const rates = new Map(cases.map((c) => [c.name, [] as number[]]));
    const cpu = new Map(cases.map((c) => [c.name, [] as number[]]));
    for (let r = 0; r < runs; r++) {
      for (const [i, c] of cases.entries()) {
        const res = await runCase(etcd.url, `bench-${r}-${i}`, c.nodes, c.via, batches, ids, readings);
        rates.get(c.name)!.push(res.rate);
        cpu.get(c.name)!.push(res.cpuUs);
      }
    }
    printRateTable(`cluster routing (${readings.toLocaleString('en-US')} readings, ${devices} devices, batches of ≤${PER_BATCH}, 2 in flight, durability fast; 2 cores shared by every process bound the scaling shown)`, cases.map((c, i) => ({
      name: c.name,
      rates: rates.get(c.name)!,
      unit: 'readings/s',
      ...(i === 0 ? {} : { baseline: 'straight to 1 node' }),
      ...(i === 1 ? { targetRatio: 0.9 } : {}),
    })));
    console.log('CPU per reading (router + nodes, user + system, median µs):');
    for (const c of cases) console.log(`  ${c.name.padEnd(22)} ${median(cpu.get(c.name)!).toFixed(1)} µs`);
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runClusterBench(numArg('readings', 20_000, true), numArg('runs', 3, true), numArg('devices', 100, true));
}
