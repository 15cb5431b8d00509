/**
 * The balancer's own election: one etcd, three `lmj-edge router --etcd` processes, and
 * data nodes in this process (started as `lmj-edge node` starts them, so that only the
 * routers pay a process start; a router is what gets SIGKILLed). The router without `--auto-balance` starts
 * first and is elected move driver; then two routers with `--auto-balance` start. One of
 * those two balances (moves ranges onto a node started with `--join`), the unflagged
 * router drives the moves it requests and never balances itself. SIGKILL of the
 * balancing router: the other flagged router is elected balancer after the lease TTL and
 * moves a range onto a second joined node. Requires `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, connectEtcd, initTable, isTerminal, listMoves, readTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { startDataNode, type DataNode } from '../../../src/router/node/data-node.js';
import { waitUntil } from '../../helpers/cluster-e2e.js';
import { startClusterRouterProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { TOKEN, gatewayRecords, ingestor, publish, silent, tokensFile } from '../../integration/sync/helpers.js';

/** Three devices in three different ranges (256 partitions per range). */
const DEVICES = (() => {
  const seen = new Set<number>();
  const out: string[] = [];
  for (let i = 0; out.length < 3; i++) {
    const id = `be-${i}`;
    const range = getCodec().partitionOf(id) >> 8;
    if (!seen.has(range)) {
      seen.add(range);
      out.push(id);
    }
  }
  return out;
})();
const BALANCE = ['--auto-balance', '--balance-policy', 'count', '--balance-interval', '1', '--move-driver-ttl', '2'];

let etcd: EtcdCluster;
let client: Etcd3;
let dir: string;
let tokens: string;
let ing: Ingestor;
const procs: ClusterProc[] = [];
const nodes: DataNode[] = [];
let plain: ClusterProc;
let flagged: ClusterProc[] = [];

const waitFor = (what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => waitUntil(what, fn, timeoutMs, 100);

/** The router's name in the elections (cluster-router.ts). */
const nameOf = (r: ClusterProc): string => `router-127.0.0.1:${r.port}-${r.proc.pid}`;
const leaderOf = (election: string): Promise<string | undefined> => client.namespace(ROOT).election(election).leader();

/** A router's balancer figures from /metrics; null when it has no balancer at all. */
async function balancer(r: ClusterProc): Promise<{ leader: number; moves: number; decisions: number } | null> {
  const text = await (await request(`${r.url}/metrics`)).body.text();
  const leader = /^lmj_router_balancer_leader (\d+)$/m.exec(text);
  if (leader === null) {
    expect(text).not.toMatch(/lmj_router_balancer_/);
    return null;
  }
  const decisions = [...text.matchAll(/^lmj_router_balancer_decisions_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  return { leader: Number(leader[1]), moves: Number(/^lmj_router_balancer_moves_total (\d+)$/m.exec(text)?.[1]), decisions };
}

/** Ranges (of the test's devices) per owner. */
async function owners(): Promise<Map<string, number>> {
  const t = (await readTable(client))!;
  const out = new Map<string, number>();
  for (const d of DEVICES) {
    const id = t.rangeOf(getCodec().partitionOf(d)).owner?.id;
    if (id !== undefined) out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** A data node; `join`: started with --join. */
async function node(id: string, join_ = false): Promise<void> {
  nodes.push(await startDataNode({ etcd: etcd.urls, nodeId: id, dataDir: join(dir, id), httpPort: 0, ttlSeconds: 3, durability: 'fast', ...(join_ ? { join: true } : {}), log: silent }));
}

const settled = async (): Promise<boolean> => (await listMoves(client)).moves.every((m) => isTerminal(m.move.phase));

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-balancer-election-'));
  tokens = tokensFile(join(dir, 'tokens'));
  const [, router] = await Promise.all([node('node-a'), startClusterRouterProcess(etcd.urls, await freePort(), tokens, undefined, ['--move-driver-ttl', '2'])]);
  procs.push(router);
  plain = router;
  await waitFor('the unflagged router elected move driver', async () => (await leaderOf('move-driver')) === nameOf(plain));
  // Every device lands on node-a, the only live node.
  ing = await ingestor(join(dir, 'gw'));
  const devices = [];
  for (const d of DEVICES) {
    await publish(ing, d, 0, 3);
    devices.push({ deviceId: d, records: await gatewayRecords(ing, d) });
  }
  const res = await request(`${plain.url}/sync/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'gw-1', authorization: `Bearer ${TOKEN}` }, body: encodeBatch({ gatewayId: 'gw-1', seq: 1, devices }) });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
  expect(await owners()).toEqual(new Map([['node-a', 3]]));
  // Started here, not in a test: a process started inside a test is killed when that test ends.
  const [, ...started] = await Promise.all([
    node('node-b', true),
    startClusterRouterProcess(etcd.urls, await freePort(), tokens, undefined, BALANCE),
    startClusterRouterProcess(etcd.urls, await freePort(), tokens, undefined, BALANCE),
  ]);
  procs.push(...started);
  flagged = started;
}, 90_000);

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const n of nodes) await n.stop();
  await ing?.close();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the balancer election', () => {
  it('one of the two --auto-balance routers balances while the unflagged router drives the moves', async () => {
    // 3 ranges of one device on node-a, none on node-b: one move, then the gap (1) is within one range's weight.
    await waitFor('a range on node-b', async () => (await settled()) && (await owners()).get('node-b') === 1 && (await listMoves(client)).moves.length === 1);
    expect(await leaderOf('move-driver')).toBe(nameOf(plain));
    const figures = await Promise.all(flagged.map(balancer));
    expect(figures.map((f) => f?.leader).sort()).toEqual([0, 1]);
    const leader = figures.findIndex((f) => f?.leader === 1);
    expect(await leaderOf('balancer')).toBe(nameOf(flagged[leader]!));
    expect(figures[leader]?.moves).toBe(1);
    expect(figures[1 - leader]).toEqual({ leader: 0, moves: 0, decisions: 0 });
    expect(await balancer(plain)).toBeNull();
    const moves = (await listMoves(client)).moves.map((m) => m.move);
    expect(moves.map((m) => [m.phase, m.target, m.driver])).toEqual([['done', 'node-b', nameOf(plain)]]);
    // The balancing router goes first: the other one must take over.
    flagged = [flagged[leader]!, flagged[1 - leader]!];
  }, 60_000);

  it('SIGKILL of the balancing router: the other --auto-balance router is elected and balances; the unflagged one never does', async () => {
    const [dead, survivor] = flagged as [ClusterProc, ClusterProc];
    await dead.kill('SIGKILL');
    await waitFor('the survivor elected balancer', async () => (await balancer(survivor))?.leader === 1);
    expect(await leaderOf('balancer')).toBe(nameOf(survivor));
    // node-a 2, node-b 1, node-c 0: the gap (2) is above one range's weight, so one range goes to node-c.
    await node('node-c', true);
    await waitFor('a range on node-c', async () => (await settled()) && (await owners()).get('node-c') === 1);
    expect((await balancer(survivor))?.moves).toBe(1);
    expect(await balancer(plain)).toBeNull();
    const moves = (await listMoves(client)).moves.map((m) => m.move);
    expect(moves.length).toBe(2);
    expect(moves.filter((m) => m.target === 'node-c').map((m) => [m.phase, m.driver])).toEqual([['done', nameOf(plain)]]);
    const t = (await readTable(client))!;
    for (const r of t.ranges) expect({ range: r.from, learner: r.learner, fenced: r.fenced }).toEqual({ range: r.from, learner: null, fenced: false });
  }, 60_000);
});
