/**
 * Hot expansion benchmark (`npm run bench -- expansion`), two parts, same run:
 *
 * 1. Copy method: one device instance of `readings` readings copied (a) as an LMDB
 *    snapshot (lmdb-js `env.backup(path, false)`, the baseline) and (b) the way a move
 *    copies: records + instance image, CBOR-encoded, decoded and applied in chunks.
 *    Medians of `runs` (`--runs 0` skips this part).
 * 2. A live move: etcd, 2 data nodes, 1 cluster router; a sender offers 500 readings/s
 *    (20 devices, a batch every 200 ms) through the router; one range moves back and
 *    forth `moves` times. Reports the move rate (readings/s, MB/s) against the ingest rate, the fence
 *    window per move (fencedAt → flippedAt, p50/p99; the driver's window from sending the
 *    fence's transaction to the flip's answer, p99, and where its time went, from the
 *    driver's `move fence window` log line), the sender's batch latency before and during
 *    the moves, ingest before/during/after the moves (ratio), and the time from starting
 *    a third node with `--join` to the first batch it serves, moved onto it by a second
 *    router with `--auto-balance` (1 s rounds).
 *
 * Standalone: node dist/bench/expansion.js [--readings 40000] [--runs 3] [--moves 4] [--join 1]
 * (`--join 0` skips the join figure, e.g. against a build whose balancer cannot run beside an
 * unflagged move driver).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { request } from 'undici';
import { connectEtcd, initTable, readMove, readTable, requestMove, setOwner } from '../src/cluster/index.js';
import { getCodec } from '../src/codec/index.js';
import { applyImage, exportImage } from '../src/core/telemetry/instance-image.js';
import { applyRecords, exportRecords } from '../src/core/telemetry/records.js';
import type { ReadingRecord } from '../src/core/telemetry/types.js';
import { createPool } from '../src/devices/pool/index.js';
import { decodeBatch, encodeBatch } from '../src/sync/batch.js';
import { backlog, etcdProcess } from './cluster.js';
import { countArg, numArg, switchArg } from './lib/args.js';
import { freePort, spawnReady, stop } from './lib/procs.js';
import { median, quantile } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(HERE, '..'), 'src', 'cli', 'main.js');
const MB = 1024 * 1024;
/** The device of the copy-method instance (`backlog` names its devices bench-<i>). */
const ID = 'bench-0';

/** Part 1: snapshot vs records, one instance. */
async function copyMethods(dir: string, records: ReadingRecord[], runs: number): Promise<void> {
  const src = createPool({ dataDir: join(dir, 'src'), durability: 'fast' });
  for (let i = 0; i < records.length; i += 500) await src.use(ID, (s) => s.writeAsync((t) => applyRecords(t, ID, records.slice(i, i + 500))), { create: true });
  await src.close();
  const path = join(dir, 'src', 'devices', ID);
  const snap: number[] = [];
  const stream: number[] = [];
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    const env = open({ path, encoding: 'binary' });
    const into = join(dir, `snap-${r}`);
    mkdirSync(into);
    const t0 = performance.now();
    // mdb_env_copy2 into a directory (lmdb-js refuses a file path).
    await env.backup(into, false);
    snap.push((performance.now() - t0) / 1000);
    await env.close();
    const from = createPool({ dataDir: join(dir, 'src'), durability: 'fast' });
    const to = createPool({ dataDir: join(dir, `copy-${r}`), durability: 'fast' });
    const t1 = performance.now();
    let after: Buffer | undefined;
    bytes = 0;
    for (;;) {
      const { image, chunk } = await from.use(ID, (s) => s.read((t) => ({ image: exportImage(t)!, chunk: exportRecords(t, after, 1000) })));
      if (chunk.length === 0) break;
      const wire = encodeBatch({ gatewayId: 'lmj-move', seq: 0, devices: [{ deviceId: ID, records: chunk }] });
      bytes += wire.length;
      const decoded = decodeBatch(wire, { isValidDeviceId: () => true, gatewayId: 'lmj-move' }).devices[0]!.records;
      await to.use(ID, (s) => s.writeAsync((t) => { applyImage(t, image); applyRecords(t, ID, decoded); }), { create: true });
      after = chunk[chunk.length - 1]!.element;
    }
    stream.push((performance.now() - t1) / 1000);
    await from.close();
    await to.close();
  }
  const n = records.length;
  console.log(`\n## expansion: copy method (${n} readings, ${(bytes / MB).toFixed(1)} MB on the wire, medians of ${runs})`);
  console.log('| method | s | readings/s | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| LMDB snapshot, env.backup (baseline) | ${median(snap).toFixed(3)} | ${Math.round(n / median(snap))} | 1.00× |`);
  console.log(`| records + image, encode/decode/apply | ${median(stream).toFixed(3)} | ${Math.round(n / median(stream))} | ${(median(snap) / median(stream)).toFixed(2)}× |`);
}

/** Offered ingest: one batch of 5 readings per device every 200 ms (500 readings/s with 20 devices), each reading once; counts acknowledged readings. */
function sender(router: string, records: Map<string, ReadingRecord[]>): { stop(): Promise<void>; acked: { at: number; n: number; ms: number }[] } {
  const acked: { at: number; n: number; ms: number }[] = [];
  let running = true;
  const ids = [...records.keys()];
  const PER = 5;
  const loop = (async () => {
    const t0 = Date.now();
    for (let round = 0; running; round++) {
      const devices = ids.map((id) => ({ deviceId: id, records: records.get(id)!.slice(round * PER, round * PER + PER) })).filter((d) => d.records.length > 0);
      if (devices.length === 0) throw new Error('the backlog ran out before the moves ended: raise --readings');
      const body = encodeBatch({ gatewayId: 'bench-gw', seq: round, devices });
      const sent = performance.now();
      const res = await request(`${router}/sync/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'bench-gw' }, body });
      const json = (await res.body.json()) as { devices: { error?: unknown }[] };
      acked.push({ at: Date.now(), n: json.devices.filter((d) => d.error === undefined).length * PER, ms: performance.now() - sent });
      const due = t0 + (round + 1) * 200;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  })();
  return { acked, stop: async () => { running = false; await loop; } };
}

const rateIn = (acked: readonly { at: number; n: number }[], from: number, to: number): number =>
  acked.filter((a) => a.at >= from && a.at < to).reduce((s, a) => s + a.n, 0) / Math.max(0.001, (to - from) / 1000);

/** The driver's `move fence window` log lines (move-runner.ts), from a router's stderr (JSON lines). */
type FenceProfile = Record<'windowMs' | 'fenceTxnMs' | 'sourceViewMs' | 'sourceDrainMs' | 'finalMs' | 'finalAfterFenceMs' | 'flipTxnMs', number | null> & { move: string };

function fenceProfiles(proc: Awaited<ReturnType<typeof spawnReady>>['proc']): FenceProfile[] {
  const out: FenceProfile[] = [];
  let buf = '';
  proc.stderr?.on('data', (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.includes('"move fence window"')) out.push(JSON.parse(l) as FenceProfile);
  });
  return out;
}

/** The p99 of the numbers among `xs` ('n/a' without any). */
function quantileOf(xs: readonly (number | null)[]): string {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length === 0 ? 'n/a' : quantile(v, 0.99).toFixed(1);
}

/** Part 2: moves under ingest, through real processes. */
async function liveMoves(dir: string, records: Map<string, ReadingRecord[]>, moves: number, joinPhase: boolean): Promise<void> {
  const etcd = await etcdProcess(dir);
  const client = connectEtcd([etcd.url]);
  const procs: Awaited<ReturnType<typeof spawnReady>>['proc'][] = [];
  const node = async (id: string, extra: string[] = []): Promise<string> => {
    const { proc, matches } = await spawnReady(process.execPath, [CLI, 'node', '--etcd', etcd.url, '--node-id', id, '--data', join(dir, id), '--http-port', '0', '--durability', 'fast', '--log-level', 'warn', ...extra], [/listening on .*:(\d+)/]);
    procs.push(proc);
    return `http://127.0.0.1:${matches[0]![1]}`;
  };
  const router = async (extra: string[] = []): Promise<{ url: string; proc: Awaited<ReturnType<typeof spawnReady>>['proc'] }> => {
    const port = await freePort();
    // info: the driver logs where each fence window's time went.
    const { proc } = await spawnReady(process.execPath, [CLI, 'router', '--etcd', etcd.url, '--http-port', String(port), '--log-level', 'info', '--move-rate', '0', ...extra], [/listening on/]);
    procs.push(proc);
    return { url: `http://127.0.0.1:${port}`, proc };
  };
  try {
    await initTable(client, 256);
    await Promise.all([node('n0'), node('n1')]);
    const froms = [...new Set([...records.keys()].map((id) => (getCodec().partitionOf(id) >> 8) << 8))];
    for (const from of froms) await setOwner(client, from, { kind: 'node', id: 'n0' });
    const main = await router();
    const profiles = fenceProfiles(main.proc);
    const s = sender(main.url, records);
    await new Promise((r) => setTimeout(r, 4000));
    const tBefore = Date.now() - 4000;
    const tDuring = Date.now();
    const fences: number[] = [];
    let copied = { readings: 0, bytes: 0, ms: 0 };
    for (let i = 0; i < moves; i++) {
      const from = froms[0]!;
      const t = (await readTable(client))!.rangeOf(from);
      const target = t.owner?.id === 'n0' ? 'n1' : 'n0';
      const m = await moveDone(client, (await requestMove(client, { from: t.from, to: t.to, target })).move.id);
      fences.push(m.flippedAt! - m.fencedAt!);
      copied = { readings: copied.readings + m.progress.readings, bytes: copied.bytes + m.progress.bytes, ms: copied.ms + (m.flippedAt! - m.createdAt) };
    }
    const tAfter = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const joined = joinPhase ? await joinNode(node, router) : undefined;
    await s.stop();
    const before = rateIn(s.acked, tBefore, tDuring);
    const during = rateIn(s.acked, tDuring, tAfter);
    const after = rateIn(s.acked, tAfter, tAfter + 4000);
    const latency = (from: number, to: number): number[] => s.acked.filter((a) => a.at >= from && a.at < to).map((a) => a.ms);
    console.log(`\n## expansion: moves under ingest (2 nodes, 1 router, ${records.size} devices, 500 readings/s offered, ${moves} moves of one range, unthrottled)`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| ingest before / during / after, readings/s | ${Math.round(before)} / ${Math.round(during)} / ${Math.round(after)} |`);
    console.log(`| ingest ratio during / after (vs before) | ${(during / before).toFixed(2)}× / ${(after / before).toFixed(2)}× |`);
    console.log(`| move rate, readings/s (vs ingest before) | ${Math.round(copied.readings / (copied.ms / 1000))} (${(copied.readings / (copied.ms / 1000) / before).toFixed(2)}×) |`);
    console.log(`| move rate, MB/s | ${(copied.bytes / MB / (copied.ms / 1000)).toFixed(2)} |`);
    console.log(`| fence window (fencedAt → flippedAt) p50 / p99, ms (${fences.length} moves) | ${quantile(fences, 0.5)} / ${quantile(fences, 0.99)} |`);
    console.log(`| batch latency before: p50 / max, ms | ${Math.round(quantile(latency(tBefore, tDuring), 0.5))} / ${Math.round(Math.max(...latency(tBefore, tDuring)))} |`);
    console.log(`| batch latency during the moves: p50 / max, ms | ${Math.round(quantile(latency(tDuring, tAfter), 0.5))} / ${Math.round(Math.max(...latency(tDuring, tAfter)))} |`);
    const med = (k: Exclude<keyof FenceProfile, 'move'>): string => {
      const v = profiles.map((p) => p[k]).filter((x): x is number => typeof x === 'number');
      return v.length === 0 ? 'n/a' : median(v).toFixed(1);
    };
    console.log(`| fence window from the driver (fence txn sent → flip answered), median ms (${profiles.length} moves) | ${med('windowMs')} |`);
    console.log(`| … fence txn / source view + drain / final delta (sent before the fence) / its part after the fence txn / flip txn, median ms | ${med('fenceTxnMs')} / ${med('sourceViewMs')} + ${med('sourceDrainMs')} / ${med('finalMs')} / ${med('finalAfterFenceMs')} / ${med('flipTxnMs')} |`);
    console.log(`| fence window from the driver p99, ms | ${quantileOf(profiles.map((p) => p.windowMs))} |`);
    if (joined !== undefined) console.log(`| node --join: start → registered → first batch served (balancer, 1 s rounds), ms | ${joined.registered} → ${joined.served} |`);
  } finally {
    for (const p of procs.reverse()) await stop(p);
    client.close();
    await etcd.stop();
  }
}

/** A new node with --join: from its start to the first batch it serves, moved onto it by the balancer of a second router. */
async function joinNode(node: (id: string, extra?: string[]) => Promise<string>, router: (extra?: string[]) => Promise<unknown>): Promise<{ registered: number; served: number }> {
  await router(['--auto-balance', '--balance-interval', '1']);
  const t0 = Date.now();
  const n2 = await node('n2', ['--join']);
  const registered = Date.now() - t0;
  for (;;) {
    const metrics = await (await request(`${n2}/metrics`)).body.text();
    if (/lmj_router_batches_total\{[^}]*result="ok"[^}]*\} [1-9]/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { registered, served: Date.now() - t0 };
}

/** Waits for a move to end `done` (throws on a rollback or cancel). */
async function moveDone(client: ReturnType<typeof connectEtcd>, id: string): Promise<Awaited<ReturnType<typeof readMove>>['move']> {
  for (;;) {
    const m = (await readMove(client, id)).move;
    if (m.phase === 'done') return m;
    if (m.phase === 'rolled-back' || m.phase === 'cancelled') throw new Error(`move ${m.id} ${m.phase}: ${JSON.stringify(m.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs both parts and prints their tables. */
export async function runExpansionBench(readings = 40_000, runs = 3, moves = 4, joinPhase = true): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-expansion-'));
  try {
    // Fresh readings for the live part: the sender posts 20 per device per batch, each once.
    const recs = await backlog(join(dir, 'gw'), readings, 20);
    if (runs > 0) await copyMethods(dir, await oneDevice(dir, Math.floor(readings / 2)), runs);
    await liveMoves(dir, recs, moves, joinPhase);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `readings` readings of one device (the copy-method instance). */
async function oneDevice(dir: string, readings: number): Promise<ReadingRecord[]> {
  return (await backlog(join(dir, 'one'), readings, 1)).get('bench-0')!;
}


if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await runExpansionBench(numArg('readings', 40_000, true), countArg('runs', 3), numArg('moves', 4, true), switchArg('join', true));
}
