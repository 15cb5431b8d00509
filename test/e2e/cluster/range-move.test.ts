/**
 * Range moves end to end, real processes: one etcd, 2 `lmj-edge node`, 2 `lmj-edge router
 * --etcd` (throttled copies, a 2 s driver election lease), one gateway fed by the firmware
 * simulator with a ledger. Under continuous writes: a range moves to the other node
 * (`cluster move --wait`), then the router driving a second move is SIGKILLed mid-copy
 * and the other router resumes it, then the target of a third move is SIGKILLed mid-copy
 * and the move rolls back. Every acknowledged reading then verifies exactly once,
 * in per-device order, through the surviving router, and etcd shows one owner per range.
 * Throughout, a poller reads every device through the live routers: no read fails and
 * no answer shows fewer readings or an older latest than an earlier one.
 * With ingest idle, a moved instance equals its source (`mdb_dump` of both databases).
 * Refusals (unknown/dead target, current owner, no such range, overlapping move) change
 * nothing; `cancel` leaves the source the owner; `cleanup` deletes the source's copies.
 * Requires `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { abortMove, connectEtcd, encodeRecord, initTable, listMoves, nodeKey, readMove, readTable, requestMove, type ClusterTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import { isLmjError } from '../../../src/errors.js';
import { clusterCli, expectExactLedger, expectPerDeviceOrder, syncState, waitUntil as waitFor } from '../../helpers/cluster-e2e.js';
import { startClusterRouterProcess, startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { ReadPoller } from '../../helpers/read-poller.js';
import { tokensFile } from '../../integration/sync/helpers.js';

const TOKEN = 'gw-1-secret-token-0123456789';
const DEVICES = Array.from({ length: 8 }, (_, i) => `mv-${i}`);

let etcd: EtcdCluster;
let client: Etcd3;
let dir: string;
const nodes = new Map<string, ClusterProc>();
const routers = new Map<number, ClusterProc>();
let gw: DaemonProcess;
let sim: Simulation;
let simRun: Promise<SimSummary>;
let poller: ReadPoller | undefined;


const synced = (): Promise<{ synced: number; backlog: number }> => syncState(gw.httpUrl);

const cli = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => clusterCli(etcd.urls, args);

const partitionOf = (id: string): number => getCodec().partitionOf(id);

/** Ranges holding simulator devices, with their devices. */
function rangesWithDevices(t: ClusterTable): { from: number; to: number; owner: string; devices: string[] }[] {
  const out = new Map<number, { from: number; to: number; owner: string; devices: string[] }>();
  for (const d of DEVICES) {
    const r = t.rangeOf(partitionOf(d));
    if (r.owner === null) continue;
    const e = out.get(r.from) ?? { from: r.from, to: r.to, owner: r.owner.id, devices: [] };
    e.devices.push(d);
    out.set(r.from, e);
  }
  return [...out.values()];
}

function expectOneOwnerNoMove(t: ClusterTable): void {
  for (const r of t.ranges) {
    expect(r.learner, `range ${r.from}`).toBeNull();
    expect(r.fenced, `range ${r.from}`).toBe(false);
  }
}

function dump(dirPath: string, db: string): string {
  return execFileSync('mdb_dump', ['-s', db, dirPath], { maxBuffer: 256 * 1024 * 1024 }).toString();
}

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  // Ranges of 1,024 partitions: the simulator's 8 devices fall into 4 of them (1–3 per range).
  await initTable(client, 1024);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-move-'));
  const tokens = tokensFile(join(dir, 'tokens'));
  const ports = [await freePort(), await freePort()];
  await Promise.all([
    ...['node-a', 'node-b'].map(async (id) => nodes.set(id, await startNodeProcess(etcd.urls, id, join(dir, id), { ttl: 3 }))),
    ...ports.map(async (p) => routers.set(p, await startClusterRouterProcess(etcd.urls, p, tokens, undefined, ['--move-driver-ttl', '2']))),
  ]);
  gw = await startDaemon({
    dataDir: join(dir, 'gw-1'),
    args: ['--upstream', ports.map((p) => `http://127.0.0.1:${p}`).join(','), '--gateway-id', 'gw-1', '--durability', 'fast'],
    env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
  });
  sim = new Simulation({ broker: gw.mqttUrl!, devices: DEVICES.length, rate: 80, durationS: 600, qos: 1, ledger: join(dir, 'ledger.jsonl'), seed: 7, devicePrefix: 'mv-', backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
  simRun = sim.run();
  await waitFor('first readings synced', async () => (await synced()).synced > 200);
}, 120_000);

afterAll(async () => {
  await poller?.stop();
  sim?.stop();
  await simRun?.catch(() => undefined);
  await gw?.kill('SIGKILL');
  for (const p of [...nodes.values(), ...routers.values()]) await p.kill('SIGKILL');
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('range moves', () => {
  it('moves a range under continuous writes, survives a SIGKILL of the driving router mid-copy, rolls back after a SIGKILL of the target, and loses, doubles or reorders nothing', async () => {
    const t0 = (await readTable(client))!;
    const moving = rangesWithDevices(t0).sort((a, b) => b.devices.length - a.devices.length);
    expect(moving.length).toBeGreaterThanOrEqual(2);
    const [first, second] = moving as [(typeof moving)[0], (typeof moving)[0]];
    const other = (n: string): string => (n === 'node-a' ? 'node-b' : 'node-a');
    const reads = new ReadPoller(DEVICES, [...routers.values()].map((r) => r.url));
    poller = reads;

    // 1. A move under writes, through the CLI.
    const moved = await cli('move', '--range', `${first.from}-${first.to}`, '--to', other(first.owner), '--wait', '--timeout', '90', '--json');
    expect(moved.code, moved.stderr).toBe(0);
    const rec = JSON.parse(moved.stdout) as { id: string; phase: string; progress: { readings: number; devicesTotal: number; passes: number } };
    expect(rec.phase).toBe('done');
    expect(rec.progress.readings).toBeGreaterThan(0);
    expect(rec.progress.devicesTotal).toBe(first.devices.length);
    const t1 = (await readTable(client))!;
    const r1 = t1.rangeOf(first.from);
    expect(r1.owner).toEqual({ kind: 'node', id: other(first.owner) });
    expect(r1.epoch).toBe(t0.rangeOf(first.from).epoch + 2);
    const before = (await synced()).synced;
    await waitFor('syncing on after the flip', async () => (await synced()).synced > before + 100);

    // 2. The driving router is SIGKILLed mid-copy; the other one is elected and finishes.
    // Throttled to 10 kB/s so the copy lasts a few seconds.
    const { move } = await requestMove(client, { from: second.from, to: second.to, target: other(second.owner), rateBytesPerSec: 10_000 });
    await waitFor('copying with bytes copied', async () => {
      const m = (await readMove(client, move.id)).move;
      return m.phase === 'copying' && m.progress.bytes > 0 && m.driver !== null;
    }, 30_000);
    const driver = (await readMove(client, move.id)).move.driver!;
    const port = Number(/:(\d+)-/.exec(driver)?.[1]);
    expect(routers.has(port)).toBe(true);
    // Reads through the router about to die are not counted (the poller reads through the other one).
    reads.urls.delete(routers.get(port)!.url);
    await routers.get(port)!.kill('SIGKILL');
    routers.delete(port);
    await waitFor('the move resumed and done', async () => (await readMove(client, move.id)).move.phase === 'done', 90_000);
    const end = (await readMove(client, move.id)).move;
    expect(end.driver).not.toBe(driver);
    expect(end.error).toBeNull();
    const after = (await synced()).synced;
    await waitFor('syncing on after the second flip', async () => (await synced()).synced > after + 100);

    // 3. The target is SIGKILLed mid-copy: the move rolls back, the source stays the owner.
    const third = moving[2] ?? first;
    const thirdOwner = (await readTable(client))!.rangeOf(third.from).owner;
    const c = await startNodeProcess(etcd.urls, 'node-c', join(dir, 'node-c'), { ttl: 3 });
    nodes.set('node-c', c);
    const { move: doomed } = await requestMove(client, { from: third.from, to: third.to, target: 'node-c', rateBytesPerSec: 2000 });
    await waitFor('copying to node-c', async () => (await readMove(client, doomed.id)).move.phase === 'copying', 30_000);
    await c.kill('SIGKILL');
    nodes.delete('node-c');
    await waitFor('the move rolled back', async () => (await readMove(client, doomed.id)).move.phase === 'rolled-back', 60_000);
    expect((await readMove(client, doomed.id)).move.error?.code).toBe('MOVE_BAD_TARGET');
    const t3 = (await readTable(client))!.rangeOf(third.from);
    expect({ owner: t3.owner, learner: t3.learner, fenced: t3.fenced }).toEqual({ owner: thirdOwner, learner: null, fenced: false });

    // Stop the writes, drain, verify every acknowledged reading once, in order.
    sim.stop();
    const summary = await simRun;
    expect(summary.unacked).toBe(0);
    await waitFor('backlog drained', async () => (await synced()).backlog === 0, 60_000);
    const polled = await reads.stop();
    expect(polled, polled.examples.join('\n')).toMatchObject({ errors: 0, stale: 0, seen: DEVICES.length });
    expect(polled.reads).toBeGreaterThan(DEVICES.length * 10);
    const survivor = [...routers.values()][0]!;
    await expectExactLedger(join(dir, 'ledger.jsonl'), survivor.url, 500);
    await expectPerDeviceOrder(survivor.url, [...first.devices, ...second.devices], 10);
    const t2 = (await readTable(client))!;
    expectOneOwnerNoMove(t2);
    expect(t2.rangeOf(second.from).owner).toEqual({ kind: 'node', id: other(second.owner) });
  }, 240_000);

  it('a moved instance is byte-identical to its source (mdb_dump); cleanup then deletes the source copy', async () => {
    const t = (await readTable(client))!;
    const range = rangesWithDevices(t)[0]!;
    const target = range.owner === 'node-a' ? 'node-b' : 'node-a';
    const moved = await cli('move', '--range', `${range.from}-${range.to}`, '--to', target, '--wait', '--timeout', '60');
    expect(moved.code, moved.stderr).toBe(0);
    for (const d of range.devices) {
      for (const db of ['main', 'set']) {
        const src = dump(join(dir, range.owner, 'devices', d), db);
        expect(src.split('\n').length).toBeGreaterThan(20);
        expect(dump(join(dir, target, 'devices', d), db) === src, `${d} ${db}`).toBe(true);
      }
    }
    const cleaned = await cli('cleanup', '--json');
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const out = JSON.parse(cleaned.stdout) as { cleaned: { node: string; removed: number }[] };
    expect(out.cleaned.find((c) => c.node === range.owner && c.removed === range.devices.length)).toBeDefined();
    for (const d of range.devices) {
      expect(existsSync(join(dir, range.owner, 'devices', d)), d).toBe(false);
      expect(existsSync(join(dir, target, 'devices', d)), d).toBe(true);
    }
  }, 120_000);

  it('refuses a move to an unknown, dead or current node, of a range that does not exist, or over a running move; cancel keeps the source', async () => {
    const t = (await readTable(client))!;
    const [busy, other] = rangesWithDevices(t) as [ReturnType<typeof rangesWithDevices>[0], ReturnType<typeof rangesWithDevices>[0]];
    expect(other).toBeDefined();
    await client.put(nodeKey('node-dead')).value(encodeRecord({ format: 1, id: 'node-dead', registeredAt: Date.now() }));
    // A running move (1 kB/s: it stays in copying) holds its range.
    const target = busy.owner === 'node-a' ? 'node-b' : 'node-a';
    const { move } = await requestMove(client, { from: busy.from, to: busy.to, target, rateBytesPerSec: 1000 });
    await waitFor('copying', async () => (await readMove(client, move.id)).move.phase === 'copying', 30_000);
    const version = (await readTable(client))!.version;
    const moves = (await listMoves(client)).moves.length;
    const spec = `${other.from}-${other.to}`;
    const busySpec = `${busy.from}-${busy.to}`;
    const [unknown, dead, owner, noRange, overlap, list] = await Promise.all([
      cli('move', '--range', spec, '--to', 'node-nope'),
      cli('move', '--range', spec, '--to', 'node-dead'),
      cli('move', '--range', spec, '--to', other.owner),
      cli('move', '--range', `${other.from}-${other.from + 10}`, '--to', other.owner === 'node-a' ? 'node-b' : 'node-a'),
      cli('move', '--range', busySpec, '--to', target),
      cli('moves'),
    ]);
    expect([unknown.code, dead.code, owner.code, noRange.code, overlap.code]).toEqual([1, 1, 1, 1, 1]);
    expect(unknown.stderr).toMatch(/MOVE_BAD_TARGET: unknown node node-nope/);
    expect(dead.stderr).toMatch(/MOVE_BAD_TARGET: node node-dead is not live/);
    expect(owner.stderr).toMatch(/MOVE_BAD_TARGET: node \S+ already owns range/);
    expect(noRange.stderr).toMatch(/RANGE_NOT_FOUND: no range \d+-\d+: partition \d+ is in range \d+-\d+; a move takes whole ranges \(split first/);
    expect(overlap.stderr).toContain(`MOVE_CONFLICT: range ${busySpec} is already moving to ${target} (move ${move.id}, copying)`);
    expect(list.stdout).toMatch(new RegExp(`${move.id}\\s+${busySpec}\\s+${busy.owner}\\s+${target}\\s+copying`));
    expect((await readTable(client))!.version).toBe(version);
    expect((await listMoves(client)).moves.length).toBe(moves);

    const cancelled = await cli('cancel', move.id);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect((await readMove(client, move.id)).move.phase).toBe('cancelled');
    const after = (await readTable(client))!;
    expect(after.rangeOf(busy.from).owner).toEqual({ kind: 'node', id: busy.owner });
    expectOneOwnerNoMove(after);
    const again = await abortMove(client, await readMove(client, move.id), 'cancelled', null).catch((e: unknown) => e);
    expect(isLmjError(again, 'MOVE_CONFLICT')).toBe(true);
  }, 60_000);

  it('drain moves every range of a node to the other live node (dry run first: nothing requested)', async () => {
    const t = (await readTable(client))!;
    // The node with fewer ranges (at least one): fewer moves to wait for.
    const count = (n: string): number => t.ranges.filter((r) => r.owner?.id === n).length;
    const node = count('node-a') > 0 && (count('node-a') <= count('node-b') || count('node-b') === 0) ? 'node-a' : 'node-b';
    const owned = count(node);
    expect(owned).toBeGreaterThan(0);
    const moves = (await listMoves(client)).moves.length;
    const dry = await cli('drain', node, '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    expect((JSON.parse(dry.stdout) as { moves: unknown[]; requested: unknown }).moves).toHaveLength(owned);
    expect((await listMoves(client)).moves.length).toBe(moves);
    const drained = await cli('drain', node, '--json');
    expect(drained.code, drained.stderr).toBe(0);
    const ids = (JSON.parse(drained.stdout) as { requested: { move: string }[] }).requested.map((r) => r.move);
    expect(ids).toHaveLength(owned);
    await waitFor('every drain move done', async () => (await Promise.all(ids.map((id) => readMove(client, id)))).every((m) => m.move.phase === 'done'), 60_000);
    const after = (await readTable(client))!;
    expect(after.ranges.filter((r) => r.owner?.id === node)).toEqual([]);
    expectOneOwnerNoMove(after);
  }, 90_000);
});
