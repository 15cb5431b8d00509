/**
 * The balancer end to end, real processes: one etcd, 2 `lmj-edge node` holding every
 * owned range, 2 `lmj-edge router --etcd --auto-balance` (count policy, 1 s rounds), one gateway fed by the firmware simulator with a ledger. Then
 * a third node starts with `--join` and a fourth without it. Under continuous writes the
 * balancer moves ranges onto the joined node until the count policy's hysteresis rule
 * holds; the fourth node receives nothing; exactly one router made balancer decisions.
 * Then `cluster drain` empties one of the first two nodes and it is removed (SIGTERM:
 * its lease goes at once) while the writes go on. A poller reads every device through
 * both routers from the join to the end: no read fails, no answer is stale. etcd shows
 * one owner per range; every acknowledged reading verifies exactly once, in per-device
 * order. Requires `npm run build`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Etcd3, Watcher } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { LIVE_PREFIX, connectEtcd, initTable, isTerminal, listLiveNodes, listMoves, readTable, type ClusterTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import { clusterCli, expectExactLedger, expectPerDeviceOrder, syncState, waitUntil as waitFor } from '../../helpers/cluster-e2e.js';
import { startClusterRouterProcess, startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { CLI, ROOT, startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { ReadPoller } from '../../helpers/read-poller.js';
import { tokensFile } from '../../integration/sync/helpers.js';

const TOKEN = 'gw-1-secret-token-0123456789';
const DEVICES = Array.from({ length: 12 }, (_, i) => `ab-${String(i).padStart(2, '0')}`);

let etcd: EtcdCluster;
let client: Etcd3;
let dir: string;
const nodes = new Map<string, ClusterProc>();
const routers: ClusterProc[] = [];
let gw: DaemonProcess;
let sim: Simulation;
let simRun: Promise<SimSummary>;
let poller: ReadPoller | undefined;
let liveWatch: Watcher | undefined;
/** `node@ms` of every live record deleted while the poller ran, but the removed node's. */
const lapsed = new Set<string>();
/** The node the drain case removes, once it sends SIGTERM. */
let removed: string | undefined;


const synced = (): Promise<{ synced: number; backlog: number }> => syncState(gw.httpUrl);

/** A router's balancer counters from its /metrics. */
async function balancerMetrics(r: ClusterProc): Promise<{ moves: number; balanced: number }> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const balanced = /^lmj_router_balancer_decisions_total\{decision="balanced"\} (\d+)$/m.exec(text);
  return { moves: num(/^lmj_router_balancer_moves_total (\d+)$/m), balanced: balanced === null ? 0 : Number(balanced[1]) };
}

/** Devices per owner, and the most devices of one range, over the simulator's devices. */
function devicesPerOwner(t: ClusterTable): { load: Map<string, number>; maxRange: number } {
  const load = new Map<string, number>();
  const perRange = new Map<number, number>();
  for (const d of DEVICES) {
    const r = t.rangeOf(getCodec().partitionOf(d));
    if (r.owner === null) continue;
    load.set(r.owner.id, (load.get(r.owner.id) ?? 0) + 1);
    perRange.set(r.from, (perRange.get(r.from) ?? 0) + 1);
  }
  return { load, maxRange: Math.max(...perRange.values()) };
}

const activeMoves = async (): Promise<number> => (await listMoves(client)).moves.filter((m) => !isTerminal(m.move.phase)).length;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 1024);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-balance-'));
  const tokens = tokensFile(join(dir, 'tokens'));
  const ports = [await freePort(), await freePort()];
  await Promise.all([
    ...['node-a', 'node-b'].map(async (id) => nodes.set(id, await startNodeProcess(etcd.urls, id, join(dir, id), { ttl: 3 }))),
    ...ports.map(async (p) => routers.push(await startClusterRouterProcess(etcd.urls, p, tokens, undefined, ['--auto-balance', '--balance-policy', 'count', '--balance-interval', '1']))),
  ]);
  gw = await startDaemon({
    dataDir: join(dir, 'gw-1'),
    args: ['--upstream', ports.map((p) => `http://127.0.0.1:${p}`).join(','), '--gateway-id', 'gw-1', '--durability', 'fast'],
    env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
  });
  sim = new Simulation({ broker: gw.mqttUrl!, devices: DEVICES.length, rate: 80, durationS: 600, qos: 1, ledger: join(dir, 'ledger.jsonl'), seed: 11, devicePrefix: 'ab-', backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
  simRun = sim.run();
  // Every device has written, so every range holding one has an owner (node-a or node-b).
  await waitFor('every device routed', async () => [...devicesPerOwner((await readTable(client))!).load.values()].reduce((a, b) => a + b, 0) === DEVICES.length, 30_000);
}, 120_000);

afterAll(async () => {
  await poller?.stop();
  await liveWatch?.cancel();
  sim?.stop();
  await simRun?.catch(() => undefined);
  await gw?.kill('SIGKILL');
  for (const p of [...nodes.values(), ...routers]) await p.kill('SIGKILL');
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('auto-balance', () => {
  it('moves ranges onto a node started with --join until balanced, never onto one started without, from exactly one router', async () => {
    const before = devicesPerOwner((await readTable(client))!);
    expect([...before.load.keys()].sort()).toEqual(['node-a', 'node-b']);
    // Reads every device through both routers until the end of the drain-and-remove case.
    poller = new ReadPoller(DEVICES, routers.map((r) => r.url));
    // Every live record that goes (a lease revoked or lapsed), for the poller's bound below.
    const watcher = await client.watch().prefix(LIVE_PREFIX).create();
    watcher.on('delete', (kv) => {
      const id = kv.key.toString().slice(LIVE_PREFIX.length);
      // The removal of the drained node is no lapse; any earlier loss of its record is.
      if (id !== removed) lapsed.add(`${id}@${Date.now()}`);
    });
    liveWatch = watcher;

    const [joined, bystander] = await Promise.all([
      // The next case drains and removes a node with these two still running.
      startNodeProcess(etcd.urls, 'node-c', join(dir, 'node-c'), { ttl: 3, extra: ['--join'], outliveTest: true }),
      startNodeProcess(etcd.urls, 'node-d', join(dir, 'node-d'), { ttl: 3, outliveTest: true }),
    ]);
    nodes.set('node-c', joined).set('node-d', bystander);
    const live = (await listLiveNodes(client)).nodes;
    expect(live.find((n) => n.id === 'node-c')?.candidate).toBe(true);
    expect(live.find((n) => n.id === 'node-d')?.candidate).toBeUndefined();

    // Balanced: node-c holds devices, no move is active, and the gap is within the rule.
    let final = before;
    await waitFor('balanced onto node-c', async () => {
      if ((await activeMoves()) !== 0) return false;
      final = devicesPerOwner((await readTable(client))!);
      const loads = ['node-a', 'node-b', 'node-c'].map((n) => final.load.get(n) ?? 0);
      return (final.load.get('node-c') ?? 0) > 0 && Math.max(...loads) - Math.min(...loads) <= Math.max(final.maxRange, 0.1 * (DEVICES.length / 3));
    }, 45_000);
    // The balancer agrees: a round after the last move finds nothing to do, and no move starts.
    const leaderBefore = await Promise.all(routers.map(balancerMetrics));
    await waitFor('a balanced round', async () => {
      const now = await Promise.all(routers.map(balancerMetrics));
      return now.some((m, i) => m.balanced > (leaderBefore[i]?.balanced ?? 0));
    }, 15_000);
    expect(await activeMoves()).toBe(0);

    const metrics = await Promise.all(routers.map(balancerMetrics));
    expect(metrics.map((m) => m.moves > 0).sort()).toEqual([false, true]);
    expect(metrics.find((m) => m.moves === 0)?.balanced).toBe(0);
    const moves = (await listMoves(client)).moves.map((m) => m.move);
    expect(moves.length).toBe(metrics.reduce((a, m) => a + m.moves, 0));
    expect(moves.every((m) => m.phase === 'done')).toBe(true);
    expect(moves.some((m) => m.target === 'node-c')).toBe(true);
    expect(moves.filter((m) => m.target === 'node-d')).toEqual([]);

    const table = (await readTable(client))!;
    expect(table.ranges.filter((r) => r.owner?.kind === 'node' && r.owner.id === 'node-d')).toEqual([]);
    for (const r of table.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });
  }, 120_000);

  it('drains a node and removes it under writes and reads: no read fails or is stale, nothing is lost, doubled or reordered', async () => {
    await waitFor('no move active', async () => (await activeMoves()) === 0, 30_000);
    const t0 = (await readTable(client))!;
    const owned = (t: ClusterTable, n: string): number => t.ranges.filter((r) => r.owner?.id === n).length;
    // The first node that owns something; node-a unless the balancer emptied it.
    const victim = owned(t0, 'node-a') > 0 ? 'node-a' : 'node-b';
    expect(owned(t0, victim)).toBeGreaterThan(0);
    const drained = await clusterCli(etcd.urls, ['drain', victim, '--json']);
    expect(drained.code, drained.stderr).toBe(0);
    const requested = (JSON.parse(drained.stdout) as { requested: { move: string }[] }).requested.map((r) => r.move);
    // Every range the node owns (the balancer, busy while they run, requests nothing meanwhile).
    expect(requested.length).toBeGreaterThan(0);
    await waitFor('every drain move ended', async () => {
      const all = (await listMoves(client)).moves.map((m) => m.move);
      return requested.every((id) => isTerminal(all.find((m) => m.id === id)?.phase ?? 'requested'));
    }, 90_000);
    const drainMoves = (await listMoves(client)).moves.map((m) => m.move).filter((m) => requested.includes(m.id));
    expect(drainMoves.map((m) => ({ phase: m.phase, error: m.error }))).toEqual(drainMoves.map(() => ({ phase: 'done', error: null })));
    // Onto the balancing candidates only: never the bystander started without --join.
    expect(drainMoves.every((m) => m.source === victim && m.target !== 'node-d' && m.target !== victim)).toBe(true);
    const t1 = (await readTable(client))!;
    expect(owned(t1, victim)).toBe(0);
    for (const r of t1.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });

    // Removal: SIGTERM revokes the node's lease, so it leaves membership at once, not after its TTL.
    const known = new Set((await listMoves(client)).moves.map((m) => m.move.id));
    const proc = nodes.get(victim)!;
    removed = victim;
    const removedAt = Date.now();
    await proc.kill('SIGTERM');
    expect(proc.proc.exitCode).toBe(0);
    expect((await listLiveNodes(client)).nodes.map((n) => n.id)).not.toContain(victim);
    const s1 = (await synced()).synced;
    await waitFor('syncing on after the removal', async () => (await synced()).synced > s1 + 100, 30_000);
    // Moves the balancer may still make between the remaining nodes never target the removed one.
    expect((await listMoves(client)).moves.filter((m) => !known.has(m.move.id) && m.move.target === victim)).toEqual([]);

    sim.stop();
    const summary = await simRun;
    expect(summary.unacked).toBe(0);
    await waitFor('backlog drained', async () => (await synced()).backlog === 0, 30_000);
    const polled = await poller!.stop();
    await liveWatch?.cancel();
    // No answer is ever stale. A read fails only while its owner is out of membership: on
    // this shared 2-core machine a node's keepalive can miss its 3 s TTL, and the router
    // then answers NODE_UNAVAILABLE for it. Without such a lapse, not one read fails.
    const lapses = [...lapsed].map((l) => l.split('@')[0]!);
    console.log(`read poller: ${polled.reads} reads, ${polled.errors} errors, ${polled.stale} stale; live records lapsed: ${[...lapsed].join(', ') || 'none'}; ${victim} removed at ${removedAt}`);
    expect(polled, polled.examples.join('\n')).toMatchObject({ stale: 0, seen: DEVICES.length });
    if (lapses.length === 0) expect(polled.errors, polled.examples.join('\n')).toBe(0);
    else expect(polled.examples.filter((e) => !new RegExp(`NODE_UNAVAILABLE.*data node (${lapses.join('|')}) is not live`).test(e)), [...lapsed].join()).toEqual([]);
    expect(polled.reads).toBeGreaterThan(DEVICES.length * 10);
    // The balancer may still even out the two remaining nodes; its last move ends first.
    await waitFor('no move active', async () => (await activeMoves()) === 0, 30_000);
    const t2 = (await readTable(client))!;
    expect(owned(t2, victim)).toBe(0);
    for (const r of t2.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });
    await expectExactLedger(join(dir, 'ledger.jsonl'), routers[0]!.url, 200);
    await expectPerDeviceOrder(routers[1]!.url, DEVICES, 5);
  }, 120_000);

  it('refuses balance flags without --auto-balance, --auto-balance without --etcd, and an unknown policy (exit 2, BAD_CONFIG)', async () => {
    const run = async (...args: string[]): Promise<{ code: number; stderr: string }> => {
      try {
        await promisify(execFile)(process.execPath, [CLI, 'router', '--http-port', '0', ...args], { cwd: ROOT });
        return { code: 0, stderr: '' };
      } catch (err) {
        return err as { code: number; stderr: string };
      }
    };
    const etcdFlag = ['--etcd', etcd.urls.join(',')];
    const results = await Promise.all([
      run(...etcdFlag, '--balance-policy', 'count'),
      run('--data', join(dir, 'single'), '--auto-balance'),
      run(...etcdFlag, '--auto-balance', '--balance-policy', 'hot'),
      run(...etcdFlag, '--auto-balance', '--balance-interval', '0'),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results.map((r) => /BAD_CONFIG: invalid configuration: (--balance-policy and --balance-interval need --auto-balance|--auto-balance belongs to the cluster router|balance-policy: count, bytes or heat|balance-interval: expected 1\.\.86400)/.test(r.stderr))).toEqual([true, true, true, true]);
  });
});
