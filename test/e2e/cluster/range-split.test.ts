/**
 * Range splits and concurrent moves end to end: one etcd process, 2 data nodes and one
 * cluster router with a move concurrency of 2 (in-process servers, the code behind
 * `lmj-edge node` and `lmj-edge router --etcd`), one gateway process fed by the
 * firmware simulator with a ledger, and the `lmj-edge cluster split` CLI. Under continuous writes a range holding several
 * devices is split with `cluster split` (no routing refusal follows: both halves keep
 * the epoch the router and nodes route with), then its upper half and another range
 * move at the same time (both past `requested` at once). Every acknowledged reading then
 * verifies exactly once through the router; etcd shows one owner per range, no learner,
 * no fence. Then, with those devices idle, a second simulator writes to two devices of
 * one range, and a second router started with `--auto-balance` under the heat policy
 * splits that range between them and moves one hot half to the other node: etcd shows
 * both halves, the moved half at epoch + 2 on the other node, the other half unchanged,
 * no learner, no fence, and the hot ledger verifies exactly once, in per-device order.
 * Requires `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { MOVES_PREFIX, PARTITIONS, connectEtcd, decodeMove, initTable, isTerminal, listLiveNodes, listMoves, readTable, requestMove, type ClusterTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import { startClusterRouter, type ClusterRouter } from '../../../src/router/cluster/cluster-router.js';
import { startDataNode, type DataNode } from '../../../src/router/node/data-node.js';
import { clusterCli, expectExactLedger, expectPerDeviceOrder, syncState, waitUntil as waitFor } from '../../helpers/cluster-e2e.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { getJson, silent, tokensFile } from '../../integration/sync/helpers.js';

const TOKEN = 'gw-1-secret-token-0123456789';
const DEVICES = Array.from({ length: 12 }, (_, i) => `sp-${String(i).padStart(2, '0')}`);

let etcd: EtcdCluster;
let client: Etcd3;
let dir: string;
const nodes: DataNode[] = [];
let router: ClusterRouter;
let routerUrl: string;
let tokens: string;
/** The `--auto-balance --balance-policy heat` router of the heat case. */
let balancer: ClusterRouter | undefined;
let gw: DaemonProcess;
let sim: Simulation;
let simRun: Promise<SimSummary>;
let hot: Simulation | undefined;
let hotRun: Promise<SimSummary> | undefined;


const synced = (): Promise<{ synced: number; backlog: number }> => syncState(gw.httpUrl);

const cli = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => clusterCli(etcd.urls, args);

/** The router's routing refusals so far (all codes). */
async function refusals(): Promise<number> {
  const text = await (await fetch(`${routerUrl}/metrics`)).text();
  return [...text.matchAll(/^lmj_router_batches_total\{result="refused_[A-Z_]+"\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

const partitionOf = (id: string): number => getCodec().partitionOf(id);

/** Owned ranges holding simulator devices, with their devices' partitions (sorted). */
function rangesWithDevices(t: ClusterTable): { from: number; to: number; owner: string; partitions: number[] }[] {
  const out = new Map<number, { from: number; to: number; owner: string; partitions: number[] }>();
  for (const d of DEVICES) {
    const r = t.rangeOf(partitionOf(d));
    if (r.owner === null) continue;
    const e = out.get(r.from) ?? { from: r.from, to: r.to, owner: r.owner.id, partitions: [] };
    e.partitions.push(partitionOf(d));
    out.set(r.from, e);
  }
  for (const e of out.values()) e.partitions.sort((a, b) => a - b);
  return [...out.values()];
}

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  // 4 ranges of 16,384 partitions: the 12 devices put several into each.
  await initTable(client, 16384);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-split-'));
  tokens = tokensFile(join(dir, 'tokens'));
  await Promise.all([
    ...['node-a', 'node-b'].map(async (id) => nodes.push(await startDataNode({ etcd: etcd.urls, nodeId: id, dataDir: join(dir, id), httpPort: 0, durability: 'fast', ttlSeconds: 3, log: silent }))),
    (async () => {
      router = await startClusterRouter({ etcd: etcd.urls, httpPort: 0, tokensFile: tokens, moveConcurrency: 2, moveRateBytesPerSec: 200_000, log: silent });
      routerUrl = `http://127.0.0.1:${router.http.port}`;
    })(),
  ]);
  gw = await startDaemon({
    dataDir: join(dir, 'gw-1'),
    args: ['--upstream', routerUrl, '--gateway-id', 'gw-1', '--durability', 'fast'],
    env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
  });
  sim = new Simulation({ broker: gw.mqttUrl!, devices: DEVICES.length, rate: 80, durationS: 600, qos: 1, ledger: join(dir, 'ledger.jsonl'), seed: 13, devicePrefix: 'sp-', backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
  simRun = sim.run();
  await waitFor('every device routed', async () => rangesWithDevices((await readTable(client))!).reduce((a, r) => a + r.partitions.length, 0) === DEVICES.length, 30_000);
}, 120_000);

afterAll(async () => {
  sim?.stop();
  hot?.stop();
  await simRun?.catch(() => undefined);
  await hotRun?.catch(() => undefined);
  await balancer?.stop();
  await gw?.kill('SIGKILL');
  await router?.stop();
  for (const n of nodes) await n.stop();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('range splits and concurrent moves', () => {
  it('splits a range under writes without a refusal, moves a half and another range at once, and loses or doubles nothing', async () => {
    const t0 = (await readTable(client))!;
    // The range with the most distinct device partitions; split between them.
    const target = rangesWithDevices(t0)
      .map((r) => ({ ...r, distinct: [...new Set(r.partitions)] }))
      .sort((a, b) => b.distinct.length - a.distinct.length)[0]!;
    expect(target.distinct.length).toBeGreaterThanOrEqual(2);
    const at = target.distinct[Math.floor(target.distinct.length / 2)]!;
    const epoch = t0.rangeOf(target.from).epoch;

    const refusedBefore = await refusals();
    const split = await cli('split', '--range', `${target.from}-${target.to}`, '--at', String(at));
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toContain(`split into ${target.from}-${at - 1} and ${at}-${target.to} (${target.owner}, epoch ${epoch})`);
    // A refusal exits 1 with its code, changing nothing.
    const version = (await readTable(client))!.version;
    const refused = await cli('split', '--range', `${at}-${target.to}`, '--at', String(at));
    expect({ code: refused.code, error: /SPLIT_BAD_POINT/.test(refused.stderr) }).toEqual({ code: 1, error: true });
    expect((await readTable(client))!.version).toBe(version);

    // Writes to both halves go on, and none was refused: the router's and the nodes' routes stay valid.
    const s1 = (await synced()).synced;
    await waitFor('syncing on after the split', async () => (await synced()).synced > s1 + 80);
    expect(await refusals()).toBe(refusedBefore);
    const t1 = (await readTable(client))!;
    expect([t1.rangeOf(at - 1), t1.rangeOf(at)].map((r) => [r.from, r.to, r.owner?.id, r.epoch])).toEqual([
      [target.from, at - 1, target.owner, epoch],
      [at, target.to, target.owner, epoch],
    ]);

    // The owner lists its devices of a range with their partitions and heat (the heat policy's per-device weights).
    const listed = (await getJson(`http://127.0.0.1:${nodes[0]!.http.port}`, '/cluster/v1/move/devices?from=0&to=65535')).json as { devices: string[]; partitions: number[]; heat: number[] };
    expect(listed.devices.length).toBeGreaterThan(0);
    expect(listed.partitions).toEqual(listed.devices.map(partitionOf));
    expect(listed.heat.some((h) => h > 0)).toBe(true);

    // Two moves at once: the upper half, and another range of either node.
    const other = (n: string): string => (n === 'node-a' ? 'node-b' : 'node-a');
    const second = rangesWithDevices(t1).find((r) => r.from !== at && r.from !== target.from)!;
    expect(second).toBeDefined();
    const inFlight = new Set<string>();
    let most = 0;
    const watcher = await client.watch().prefix(MOVES_PREFIX).create();
    watcher.on('put', (kv) => {
      const m = decodeMove(kv.key.toString(), kv.value);
      if (m.phase !== 'requested' && !isTerminal(m.phase)) inFlight.add(m.id);
      else inFlight.delete(m.id);
      most = Math.max(most, inFlight.size);
    });
    const [m1, m2] = await Promise.all([
      requestMove(client, { from: at, to: target.to, target: other(target.owner) }),
      requestMove(client, { from: second.from, to: second.to, target: other(second.owner) }),
    ]);
    await waitFor('both moves done', async () => (await listMoves(client)).moves.filter((m) => m.move.phase === 'done').length === 2, 60_000);
    await watcher.cancel();
    expect(most).toBe(2);
    const t2 = (await readTable(client))!;
    expect(t2.rangeOf(at)).toMatchObject({ owner: { id: other(target.owner) }, epoch: epoch + 2 });
    expect(t2.rangeOf(target.from)).toMatchObject({ owner: { id: target.owner }, epoch });
    expect(t2.rangeOf(second.from).owner?.id).toBe(other(second.owner));
    for (const m of [m1, m2]) expect((await listMoves(client)).moves.find((x) => x.move.id === m.move.id)?.move.error).toBeNull();
    for (const r of t2.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });

    const s2 = (await synced()).synced;
    await waitFor('syncing on after the moves', async () => (await synced()).synced > s2 + 50);
    sim.stop();
    const summary = await simRun;
    expect(summary.unacked).toBe(0);
    await waitFor('backlog drained', async () => (await synced()).backlog === 0, 30_000);
    await expectExactLedger(join(dir, 'ledger.jsonl'), routerUrl, 300);
  }, 120_000);

  it('under the heat policy, the balancer splits a range whose devices are hot and moves one hot half to the cooler node, losing or doubling nothing', async () => {
    // The first case's devices are idle now. Two new devices, in one owned range at distinct partitions, get all the writes.
    const t0 = (await readTable(client))!;
    let prefix = '';
    for (let k = 0; prefix === ''; k++) {
      const [a, b] = [partitionOf(`ht${k}-0`), partitionOf(`ht${k}-1`)];
      const r = t0.rangeOf(a);
      if (a !== b && r.owner !== null && t0.rangeOf(b).from === r.from) prefix = `ht${k}-`;
    }
    const hotDevices = [`${prefix}0`, `${prefix}1`];
    const range = t0.rangeOf(partitionOf(hotDevices[0]!));
    const at = Math.max(...hotDevices.map(partitionOf));
    const source = range.owner!.id;
    const cooler = source === 'node-a' ? 'node-b' : 'node-a';
    expect(t0.ranges.some((r) => r.owner?.id === cooler)).toBe(true);
    const ledger = join(dir, 'hot-ledger.jsonl');
    hot = new Simulation({ broker: gw.mqttUrl!, devices: 2, rate: 60, durationS: 600, qos: 1, ledger, seed: 17, devicePrefix: prefix, backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
    hotRun = hot.run();
    // The owner reports both devices hot (writes/s per device, the heat policy's weights).
    const port = (await listLiveNodes(client)).nodes.find((n) => n.id === source)!.address.port;
    await waitFor('both devices hot on their owner', async () => {
      const l = (await getJson(`http://127.0.0.1:${port}`, `/cluster/v1/move/devices?from=${range.from}&to=${range.to}`)).json as { devices: string[]; heat: number[] };
      return hotDevices.every((d) => (l.heat[l.devices.indexOf(d)] ?? 0) > 0);
    }, 30_000);
    // Answered reads count as heat too, and the first case's ledger check read every device:
    // the balancer starts once only the hot devices carry heat, on every node.
    await waitFor('only the hot devices hot', async () => {
      for (const n of (await listLiveNodes(client)).nodes) {
        const l = (await getJson(`http://127.0.0.1:${n.address.port}`, `/cluster/v1/move/devices?from=0&to=${PARTITIONS - 1}`)).json as { devices: string[]; heat: number[] };
        if (l.devices.some((d, i) => !hotDevices.includes(d) && (l.heat[i] ?? 0) > 0)) return false;
      }
      return true;
    }, 30_000);

    const movesBefore = new Set((await listMoves(client)).moves.map((m) => m.move.id));
    balancer = await startClusterRouter({ etcd: etcd.urls, httpPort: 0, tokensFile: tokens, autoBalance: { policy: 'heat', intervalSeconds: 1 }, log: silent });
    await waitFor('the balancer\'s move done', async () => (await listMoves(client)).moves.some((m) => !movesBefore.has(m.move.id) && m.move.phase === 'done'), 60_000);
    const moves = (await listMoves(client)).moves.map((m) => m.move).filter((m) => !movesBefore.has(m.id));
    expect(moves).toHaveLength(1);
    const move = moves[0]!;
    // One hot half moves: the lower half up to the second device's partition, or the upper half from it.
    const halves = [{ from: range.from, to: at - 1 }, { from: at, to: range.to }];
    expect(halves).toContainEqual(move.range);
    expect({ source: move.source, target: move.target, error: move.error }).toEqual({ source, target: cooler, error: null });
    const metrics = await (await fetch(`http://127.0.0.1:${balancer.http.port}/metrics`)).text();
    expect(/^lmj_router_balancer_splits_total 1$/m.test(metrics), metrics).toBe(true);
    expect(/^lmj_router_balancer_decisions_total\{decision="split"\} 1$/m.test(metrics), metrics).toBe(true);

    // Two ranges where there was one: the moved half on the cooler node at epoch + 2 (fence, flip), the other half as the split left it.
    const t1 = (await readTable(client))!;
    const stayed = halves.find((h) => h.from !== move.range.from)!;
    expect([t1.rangeOf(move.range.from), t1.rangeOf(stayed.from)].map((r) => [r.from, r.to, r.owner?.id, r.epoch])).toEqual([
      [move.range.from, move.range.to, cooler, range.epoch + 2],
      [stayed.from, stayed.to, source, range.epoch],
    ]);
    expect(t1.ranges).toHaveLength(t0.ranges.length + 1);
    for (const r of t1.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });

    const s1 = (await synced()).synced;
    await waitFor('syncing on after the move', async () => (await synced()).synced > s1 + 50);
    hot.stop();
    expect((await hotRun).unacked).toBe(0);
    await waitFor('backlog drained', async () => (await synced()).backlog === 0, 30_000);
    await expectExactLedger(ledger, routerUrl, 100);
    await expectPerDeviceOrder(routerUrl, hotDevices, 20);
  }, 120_000);
});
