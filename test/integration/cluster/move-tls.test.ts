/**
 * Range moves between data nodes that listen with TLS, on a real etcd, with real nodes
 * and a real cluster router in this process (as `lmj-edge node --tls-cert --tls-key
 * --tls-ca --upstream-ca` and `lmj-edge router --etcd --tls-cert --tls-key --upstream-ca`
 * build them, src/cli/tls-flags.ts), certificates made by openssl. The nodes advertise
 * https in their live records and require client certificates; the router drives the
 * move over https and the target pulls from the source over mutual TLS. A target whose
 * `--upstream-ca` is another CA cannot verify the source: the move rolls back with
 * PEER_TLS and the source stays the owner. A move whose target's table does not show it
 * as the learner (a lagging view, held here by a record the table does not match) is
 * refused by the target with MOVE_CONFLICT: the driver backs off and counts it, it does
 * not spin.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortMove, connectEtcd, initTable, isTerminal, listLiveNodes, moveKey, readMove, readTable, requestMove, type MoveRecord } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { httpsOptionsOf, peerTlsOf } from '../../../src/cli/tls-flags.js';
import { startClusterRouter, type ClusterRouter } from '../../../src/router/cluster/cluster-router.js';
import { startDataNode, type DataNode } from '../../../src/router/node/data-node.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import type { PeerTls } from '../../../src/http/tls-listener.js';
import { cleanupMoves } from '../../../src/router/cluster/move-cleanup.js';
import { makeCa, type TestCa } from '../../helpers/certs.js';
import { CLI, ROOT, assertBuilt } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { gatewayRecords, ingestor, publish, silent } from '../sync/helpers.js';

const DEVICE = 'tls-move-1';
let etcd: EtcdCluster;
let client: ReturnType<typeof connectEtcd>;
let dir: string;
let ca: TestCa;
let other: TestCa;
let ing: Ingestor;
let router: ClusterRouter;
let routerTls: PeerTls | undefined;
let routerCert: { cert: string; key: string };
const nodes: DataNode[] = [];

/** A node serving HTTPS to clients with a certificate from `ca`, pulling moves from sources verified with `trust`. */
async function tlsNode(id: string, trust: TestCa): Promise<DataNode> {
  // The node's certificate is also its client certificate towards the source of a move.
  const cert = ca.server(id, 2, { clientAuth: true });
  const flags = { tlsCert: cert.cert, tlsKey: cert.key, tlsCa: ca.cert, upstreamCa: trust.cert };
  const https = httpsOptionsOf(flags, 'node', silent);
  const node = await startDataNode({ etcd: etcd.urls, nodeId: id, dataDir: join(dir, id), httpPort: 0, ttlSeconds: 3, durability: 'fast', https, peerTls: peerTlsOf(flags, https), log: silent });
  nodes.push(node);
  return node;
}

/** Sends readings `from`..`from+n-1` of DEVICE through the router; all must commit. */
async function send(from: number, n: number): Promise<void> {
  await publish(ing, DEVICE, from, n);
  const records = (await gatewayRecords(ing, DEVICE)).slice(from, from + n);
  const res = await request(`http://127.0.0.1:${router.http.port}/sync/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'gw-tls' },
    body: encodeBatch({ gatewayId: 'gw-tls', seq: from, devices: [{ deviceId: DEVICE, records }] }),
  });
  const answer = (await res.body.json()) as { devices: { id: string; error?: unknown }[] };
  expect(res.statusCode).toBe(200);
  expect(answer.devices).toEqual([expect.objectContaining({ id: DEVICE })]);
  expect(answer.devices[0]?.error).toBeUndefined();
}

/** The move once it has ended (polls its record). */
async function ended(id: string): Promise<MoveRecord> {
  const until = Date.now() + 30_000;
  for (;;) {
    const { move } = await readMove(client, id);
    if (isTerminal(move.phase)) return move;
    if (Date.now() > until) throw new Error(`move ${id} still ${move.phase}: ${JSON.stringify(move.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readingsThroughRouter(): Promise<number> {
  const res = await request(`http://127.0.0.1:${router.http.port}/devices/${DEVICE}`);
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { readings: number }).readings;
}

const range = async (): Promise<{ from: number; to: number; owner: string | undefined; learner: string | undefined; fenced: boolean }> => {
  const r = (await readTable(client))!.rangeOf(getCodec().partitionOf(DEVICE));
  return { from: r.from, to: r.to, owner: r.owner?.id, learner: r.learner?.id, fenced: r.fenced === true };
};

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  dir = mkdtempSync(join(tmpdir(), 'lmj-int-move-tls-'));
  ca = makeCa(dir);
  other = makeCa(dir, 'other-ca');
  await tlsNode('tls-a', ca);
  await tlsNode('tls-b', ca);
  const cert = ca.server('router', 2, { clientAuth: true });
  routerCert = cert;
  const flags = { tlsCert: cert.cert, tlsKey: cert.key, upstreamCa: ca.cert };
  // The router's own listener stays plain here: what is under test is router → node and node → node.
  const own = httpsOptionsOf(flags, 'router', silent);
  routerTls = peerTlsOf(flags, own);
  router = await startClusterRouter({ etcd: etcd.urls, httpPort: 0, peerTls: routerTls, moveRateBytesPerSec: 0, log: silent });
  ing = await ingestor(join(dir, 'gw'));
  await send(0, 40);
}, 60_000);

afterAll(async () => {
  await router?.stop();
  for (const n of nodes) await n.stop();
  await ing?.close();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('range moves between TLS nodes', () => {
  it('advertises https in the live records and moves a range over mutual TLS', async () => {
    const live = (await listLiveNodes(client)).nodes;
    expect(live.map((n) => [n.id, n.scheme]).sort()).toEqual([['tls-a', 'https'], ['tls-b', 'https']]);
    const before = await range();
    expect(['tls-a', 'tls-b']).toContain(before.owner);
    const target = before.owner === 'tls-a' ? 'tls-b' : 'tls-a';
    const move = await ended((await requestMove(client, { from: before.from, to: before.to, target })).move.id);
    expect(move.phase).toBe('done');
    expect(move.error).toBeNull();
    expect(move.progress.readings).toBe(40);
    expect(await range()).toMatchObject({ owner: target, learner: undefined, fenced: false });
    expect(await readingsThroughRouter()).toBe(40);
    // The router routes the next batch to the new owner over https.
    await send(40, 5);
    expect(await readingsThroughRouter()).toBe(45);
  });

  it('a target that trusts another CA cannot verify the source: the move rolls back with PEER_TLS, the source stays the owner', async () => {
    await tlsNode('tls-w', other);
    const before = await range();
    const move = await ended((await requestMove(client, { from: before.from, to: before.to, target: 'tls-w' })).move.id);
    expect(move.phase).toBe('rolled-back');
    expect(move.error?.code).toBe('PEER_TLS');
    expect(move.error?.message).toMatch(/node tls-w: TLS handshake with the source https:\/\/127\.0\.0\.1:\d+ failed: .*check this node's --upstream-ca/);
    expect(await range()).toMatchObject({ owner: before.owner, learner: undefined, fenced: false });
    expect(await readingsThroughRouter()).toBe(45);
    await send(45, 5);
    expect(await readingsThroughRouter()).toBe(50);
  });

  it('cleanup reaches the HTTPS nodes with the router\'s CA and certificate, and names PEER_TLS without them', async () => {
    const without = await cleanupMoves(client);
    expect(without.length).toBe(2);
    for (const r of without) expect(r).toMatchObject({ removed: null, error: expect.stringMatching(/^PEER_TLS: TLS handshake failed: .*check --upstream-ca/) });
    const done = await cleanupMoves(client, { tls: routerTls! });
    // The first move's source drops its copy of the device; the rolled-back target had copied nothing.
    expect(done.map((r) => [r.node, r.removed, r.error]).sort()).toEqual([[done.find((r) => r.node !== 'tls-w')!.node, 1, undefined], ['tls-w', 0, undefined]].sort());
    expect(await readingsThroughRouter()).toBe(50);
  });

  it('cluster rebalance weighs the HTTPS nodes with --upstream-ca and a client certificate, and exits 1 with PEER_TLS without them', async () => {
    assertBuilt();
    const run = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const r = await promisify(execFile)(process.execPath, [CLI, 'cluster', '--etcd', etcd.urls.join(','), ...args, 'rebalance', '--dry-run', '--json'], { cwd: ROOT });
        return { code: 0, ...r };
      } catch (err) {
        return err as { code: number; stdout: string; stderr: string };
      }
    };
    const [good, bare] = await Promise.all([run('--upstream-ca', ca.cert, '--tls-cert', routerCert.cert, '--tls-key', routerCert.key), run()]);
    expect(good.code, good.stderr).toBe(0);
    const plan = JSON.parse(good.stdout) as { before: Record<string, number> };
    expect(Object.values(plan.before).reduce((a, b) => a + b, 0)).toBe(1);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/PEER_TLS: TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed: .*check --upstream-ca/);
  });

  it('a target whose table does not show it as the learner refuses with MOVE_CONFLICT: the driver backs off (doubling), counts it and does not spin', async () => {
    const conflicts = async (): Promise<number> => {
      const text = await (await request(`http://127.0.0.1:${router.http.port}/metrics`)).body.text();
      const m = /^lmj_router_move_node_conflicts_total (\d+)/m.exec(text);
      expect(m, 'the driver exports its conflict counter').not.toBeNull();
      return Number(m![1]);
    };
    const countReaches = async (n: number): Promise<number> => {
      const until = Date.now() + 20_000;
      while ((await conflicts()) < n) {
        if (Date.now() > until) throw new Error(`fewer than ${n} conflicts counted`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return performance.now();
    };
    expect(await conflicts()).toBe(0);
    const r = await range();
    const target = r.owner === 'tls-a' ? 'tls-b' : 'tls-a';
    // A move in `copying` whose range names no learner: what a target sees while its view lags the request.
    const now = Date.now();
    const move: MoveRecord = {
      format: 1, id: `mlag${now.toString(36)}`, range: { from: r.from, to: r.to }, source: r.owner!, target, phase: 'copying', epoch: 0, fenceEpoch: null,
      progress: { devicesCopied: 0, devicesTotal: 0, bytes: 0, readings: 0, passes: 0 }, createdAt: now, updatedAt: now, fencedAt: null, flippedAt: null, cleanedAt: null, rateBytesPerSec: null, driver: null, error: null,
    };
    await client.put(moveKey(move.id)).value(JSON.stringify(move));
    // 100, 200, 400 and 800 ms between the first refusal and the fifth: a driver retrying at once would count them within a few step times.
    const first = await countReaches(1);
    const fifth = await countReaches(5);
    expect(fifth - first).toBeGreaterThanOrEqual(1300);
    const read = await readMove(client, move.id);
    expect(read.move.phase).toBe('copying');
    // A lag is no failure of the move: nothing recorded as its error.
    expect(read.move.error).toBeNull();
    await abortMove(client, read, 'cancelled', null);
    expect(await range()).toMatchObject({ owner: r.owner, learner: undefined, fenced: false });
  });
});
