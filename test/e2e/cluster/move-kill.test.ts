/**
 * A move survives the SIGKILL of each participant at each protocol step, real processes:
 * one etcd, 3 `lmj-edge node` (node-c only ever a move target), 2 `lmj-edge router
 * --etcd` (2 s driver lease) and one gateway fed by the firmware simulator with a ledger.
 * The routers run with the testing aid `LMJ_EDGE_TEST_MOVE_HOLD` (src/router/cluster/
 * move-hold.ts): the elected driver stops at the named step, the test SIGKILLs the
 * driving router, the source or the target there, releases the hold and restarts what it
 * killed. Each case asserts that the move ends `done` (driver, source) or `rolled-back`
 * (target), and that etcd shows one owner per range and no learner or fence. The source
 * killed right after the flip comes back without taking the range back. Then etcd itself
 * is down for 3 s during a move's copy (SIGKILLed and restarted on its data dir and
 * port): the move still ends, routers and nodes reconnect, and the test records what
 * the gateway saw meanwhile. The last case verifies that every acknowledged reading is
 * stored exactly once, in per-device order. Requires `npm run build`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { connectEtcd, initTable, isTerminal, listLiveNodes, listMoves, readMove, readTable, requestMove, type ClusterTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import { expectExactLedger, expectPerDeviceOrder, syncState, waitUntil } from '../../helpers/cluster-e2e.js';
import { startClusterRouterProcess, startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { getJson, tokensFile } from '../../integration/sync/helpers.js';

const TOKEN = 'gw-1-secret-token-0123456789';
const DEVICES = Array.from({ length: 8 }, (_, i) => `mk-${i}`);
const NODE_TTL = 2;

let etcd: EtcdCluster;
let client: Etcd3;
let dir: string;
let hold: string;
let tokens: string;
const nodes = new Map<string, ClusterProc>();
const routers = new Map<number, ClusterProc>();
let gw: DaemonProcess;
let sim: Simulation;
let simRun: Promise<SimSummary>;
/** Processes (re)starting in the background, by name: awaited where a case needs them, all of them before the ledger check. */
const starting = new Map<string, Promise<void>>();

const waitFor = (what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, fn, timeoutMs, 25);

const synced = (): Promise<{ synced: number; backlog: number }> => syncState(gw.httpUrl);

/** Records a background start; its failure fails the case that awaits it (not an unhandled rejection). */
function background(name: string, p: Promise<void>): void {
  p.catch(() => undefined);
  starting.set(name, p);
}

const startNode = async (id: string): Promise<void> => {
  nodes.set(id, await startNodeProcess(etcd.urls, id, join(dir, id), { ttl: NODE_TTL, outliveTest: true }));
};
const startRouter = async (port: number): Promise<void> => {
  routers.set(port, await startClusterRouterProcess(etcd.urls, port, tokens, undefined, ['--move-driver-ttl', '2', '--move-rate', '0'], { env: { LMJ_EDGE_TEST_MOVE_HOLD: hold }, outliveTest: true }));
};
const isLive = async (id: string): Promise<boolean> => (await listLiveNodes(client)).nodes.some((n) => n.id === id);

/** Ranges holding simulator devices (owned by node-a or node-b), biggest first. */
function simRanges(t: ClusterTable): { from: number; to: number; owner: string; devices: number }[] {
  const out = new Map<number, { from: number; to: number; owner: string; devices: number }>();
  for (const d of DEVICES) {
    const r = t.rangeOf(getCodec().partitionOf(d));
    if (r.owner === null) continue;
    const e = out.get(r.from) ?? { from: r.from, to: r.to, owner: r.owner.id, devices: 0 };
    e.devices++;
    out.set(r.from, e);
  }
  return [...out.values()].sort((a, b) => b.devices - a.devices || a.from - b.from);
}

type Victim = 'driver' | 'source' | 'target';
type Point = 'learner' | 'copying' | 'catching-up' | 'fenced' | 'flipped';
// Driver kills alternate with node kills, so a killed router restarts while the next case runs.
const CASES: [Victim, Point][] = [
  ['driver', 'learner'],
  ['source', 'copying'],
  ['driver', 'copying'],
  ['target', 'catching-up'],
  ['driver', 'catching-up'],
  ['source', 'fenced'],
  ['driver', 'fenced'],
  ['target', 'fenced'],
  ['driver', 'flipped'],
  ['source', 'flipped'],
];

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  // Ranges of 1,024 partitions: the 8 devices fall into several ranges.
  await initTable(client, 1024);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-movekill-'));
  hold = join(dir, 'hold');
  tokens = tokensFile(join(dir, 'tokens'));
  const ports = [await freePort(), await freePort()];
  await Promise.all([startNode('node-a'), startNode('node-b'), ...ports.map(startRouter)]);
  gw = await startDaemon({
    dataDir: join(dir, 'gw-1'),
    args: ['--upstream', ports.map((p) => `http://127.0.0.1:${p}`).join(','), '--gateway-id', 'gw-1', '--durability', 'fast'],
    env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
  });
  sim = new Simulation({ broker: gw.mqttUrl!, devices: DEVICES.length, rate: 20, durationS: 600, qos: 1, ledger: join(dir, 'ledger.jsonl'), seed: 11, devicePrefix: 'mk-', backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
  simRun = sim.run();
  // Every device's range is owned (by node-a or node-b) before node-c, the target of the target kills, starts.
  await waitFor('every device routed', async () => {
    const t = await readTable(client);
    return t !== null && DEVICES.every((d) => t.rangeOf(getCodec().partitionOf(d)).owner !== null);
  });
  // node-c is first needed by the first target kill.
  background('node-c', startNode('node-c'));
}, 120_000);

afterAll(async () => {
  sim?.stop();
  await simRun?.catch(() => undefined);
  await gw?.kill('SIGKILL');
  for (const p of [...nodes.values(), ...routers.values()]) await p.kill('SIGKILL');
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('SIGKILL during a move', () => {
  let turn = 0;

  it.each(CASES)('of the %s at %s: the move ends, one owner per range, no learner or fence', async (victim, point) => {
    const ranges = simRanges((await readTable(client))!);
    expect(ranges.length).toBeGreaterThanOrEqual(2);
    const range = ranges[turn++ % ranges.length]!;
    const target = victim === 'target' ? 'node-c' : range.owner === 'node-a' ? 'node-b' : 'node-a';
    await starting.get(target);
    rmSync(`${hold}.held`, { force: true });
    writeFileSync(hold, point);
    const { move } = await requestMove(client, { from: range.from, to: range.to, target });
    await waitFor(`the driver holding ${move.id} at ${point}`, async () => existsSync(`${hold}.held`) && (JSON.parse(readFileSync(`${hold}.held`, 'utf8')) as { move: string }).move === move.id, 30_000);
    const held = JSON.parse(readFileSync(`${hold}.held`, 'utf8')) as { move: string; point: string; driver: string };
    expect(held.point).toBe(point);
    expect((await readMove(client, move.id)).move.phase).toBe(point);

    if (victim === 'driver') {
      const port = Number(/:(\d+)-\d+$/.exec(held.driver)?.[1]);
      // The holder may be a router restarted by an earlier case, elected before its start resolved.
      await starting.get(`router-${port}`);
      expect(routers.has(port), held.driver).toBe(true);
      await routers.get(port)!.kill('SIGKILL');
      routers.delete(port);
      rmSync(hold);
      background(`router-${port}`, startRouter(port));
    } else {
      const id = victim === 'source' ? range.owner : target;
      await nodes.get(id)!.kill('SIGKILL');
      nodes.delete(id);
      rmSync(hold);
      // A node id is taken until its lease expires: the source comes back after that, the target once the move rolled back.
      background(id, waitFor(`${id} expired`, async () => !(await isLive(id))).then(async () => {
        if (victim === 'target') await waitFor(`move ${move.id} ended`, async () => isTerminal((await readMove(client, move.id)).move.phase), 60_000);
        await startNode(id);
      }));
    }

    await waitFor(`move ${move.id} ended`, async () => isTerminal((await readMove(client, move.id)).move.phase), 60_000);
    if (victim === 'source') await starting.get(range.owner);
    const end = (await readMove(client, move.id)).move;
    expect(end.phase).toBe(victim === 'target' ? 'rolled-back' : 'done');
    if (victim === 'driver') expect(end.driver).not.toBe(held.driver);
    if (victim === 'target') expect(end.error?.code).toBe('MOVE_BAD_TARGET');
    const t = (await readTable(client))!;
    expect(t.rangeOf(range.from).owner).toEqual({ kind: 'node', id: end.phase === 'done' ? target : range.owner });
    for (const r of t.ranges) {
      expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });
      if (r.owner !== null) expect(['node-a', 'node-b', 'node-c']).toContain(r.owner.id);
    }
    expect((await listMoves(client)).moves.filter((m) => !isTerminal(m.move.phase))).toEqual([]);
    if (victim === 'source' && point === 'flipped') {
      // The restarted source does not take the range back: it refuses the range's devices, the target answers them.
      const devices = DEVICES.filter((d) => t.rangeOf(getCodec().partitionOf(d)).from === range.from);
      expect(devices.length).toBeGreaterThan(0);
      const sourceUrl = nodes.get(range.owner)!.url;
      const targetUrl = nodes.get(target)!.url;
      for (const d of devices) {
        const [src, tgt] = await Promise.all([getJson(sourceUrl, `/devices/${d}`), getJson(targetUrl, `/devices/${d}`)]);
        expect({ d, status: src.status, code: (src.json as { error?: { code?: string } }).error?.code }).toEqual({ d, status: 421, code: 'NOT_OWNER' });
        expect({ d, status: tgt.status }).toEqual({ d, status: 200 });
      }
      const before = (await synced()).synced;
      await waitFor('syncing on with the source back', async () => (await synced()).synced > before + 20);
      expect((await readTable(client))!.rangeOf(range.from).owner).toEqual({ kind: 'node', id: target });
    }
  }, 90_000);

  it('etcd down for 3 s during a copy: the move ends, one owner per range; routers and nodes reconnect; the gateway keeps syncing', async () => {
    // Every process is up before etcd goes down.
    await Promise.all(starting.values());
    const range = simRanges((await readTable(client))!)[0]!;
    const target = range.owner === 'node-a' ? 'node-b' : 'node-a';
    rmSync(`${hold}.held`, { force: true });
    writeFileSync(hold, 'copying');
    const { move } = await requestMove(client, { from: range.from, to: range.to, target });
    await waitFor(`the driver holding ${move.id} at copying`, async () => existsSync(`${hold}.held`) && (JSON.parse(readFileSync(`${hold}.held`, 'utf8')) as { move: string }).move === move.id, 30_000);
    const gwStatus = async (): Promise<{ synced: number; failures: number; at: number }> => {
      const c = ((await getJson(gw.httpUrl, '/sync/status')).json as { counters: { readingsSynced: number; batchFailures: number } }).counters;
      return { synced: c.readingsSynced, failures: c.batchFailures, at: Date.now() };
    };
    let down: { synced: number; failures: number; at: number } | undefined;
    await etcd.stopFor(3, async () => {
      down = await gwStatus();
      // Released with etcd down: the copy goes on node to node, the next phase change waits for etcd.
      rmSync(hold);
    });
    const up = await gwStatus();
    await waitFor(`move ${move.id} ended`, async () => isTerminal((await readMove(client, move.id)).move.phase), 60_000);
    const end = (await readMove(client, move.id)).move;
    const t = (await readTable(client))!;
    // etcd restores the leases when it comes back, so the target stays live and the move completes; a rollback would have to name the target.
    expect(end.phase === 'done' || end.error?.code === 'MOVE_BAD_TARGET', JSON.stringify(end)).toBe(true);
    expect(t.rangeOf(range.from).owner).toEqual({ kind: 'node', id: end.phase === 'done' ? target : range.owner });
    for (const r of t.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });

    // Recovery: every node live again and every view reconnected.
    await waitFor('every node live', async () => {
      const live = (await listLiveNodes(client)).nodes.map((n) => n.id);
      return ['node-a', 'node-b', 'node-c'].every((id) => live.includes(id));
    }, 30_000);
    const connected = async (url: string, path: string): Promise<boolean> => ((await getJson(url, path)).json as { table: { connected: boolean } }).table.connected;
    for (const r of routers.values()) await waitFor(`router ${r.url} reconnected`, () => connected(r.url, '/healthz'), 30_000);
    for (const [id, n] of nodes) await waitFor(`${id} reconnected`, () => connected(n.url, '/cluster/v1/status'), 30_000);
    const after = await gwStatus();
    await waitFor('syncing on after etcd came back', async () => (await synced()).synced > after.synced + 50);
    // Nothing was fenced during the outage: the routers and nodes routed and checked claims from their cached tables.
    expect(up.synced - down!.synced).toBeGreaterThan(0);
    console.log(`etcd outage: ${((up.at - down!.at) / 1000).toFixed(1)} s down + restart; gateway confirmed ${up.synced - down!.synced} readings, ${up.failures - down!.failures} failed batches; move ${end.phase}`);
  }, 90_000);

  it('every acknowledged reading is stored exactly once, in per-device order', async () => {
    await Promise.all(starting.values());
    sim.stop();
    const summary = await simRun;
    expect(summary.unacked).toBe(0);
    await waitFor('backlog drained', async () => (await synced()).backlog === 0, 60_000);
    const router = [...routers.values()][0]!;
    await expectExactLedger(join(dir, 'ledger.jsonl'), router.url, 200);
    await expectPerDeviceOrder(router.url, DEVICES, 5);
  }, 120_000);
});
