/**
 * A cluster end to end, real processes: one etcd, 3 `lmj-edge node`, 2 `lmj-edge router
 * --etcd`, 2 gateways (`--upstream r1,r2` / `r2,r1`) fed by the firmware simulator with a
 * ledger. While the fleet publishes: a node is SIGKILLed (the other nodes' devices keep
 * syncing), restarted on its data dir once its lease expired; a router is SIGKILLed (the
 * gateways fail over); all of etcd is stopped for 10 s (routers route from the cached
 * table). Then every PUBACKed reading verifies exactly once through the surviving router,
 * and every device lies, byte for byte, on the node the table names and on no other.
 * Requires `npm run build`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { connectEtcd, initTable, listLiveNodes, readTable } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import { expectExactLedger, syncState, waitUntil } from '../../helpers/cluster-e2e.js';
import { startClusterRouterProcess, startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { getJson, recordsAt, sameRecords, tokensFile } from '../../integration/sync/helpers.js';

const TOKENS: Record<string, string> = { 'gw-1': 'gw-1-secret-token-0123456789', 'gw-2': 'gw-2-secret-token-0123456789' };
const NODES = ['node-0', 'node-1', 'node-2'];

let etcd: EtcdCluster;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcd(1);
  const client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  client.close();
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-cluster-'));
}, 60_000);

afterAll(async () => {
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const waitFor = (what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, fn, timeoutMs, 100);

const synced = (gw: DaemonProcess): Promise<{ synced: number; backlog: number }> => syncState(gw.httpUrl);

function fleet(broker: string, prefix: string, ledger: string): Simulation {
  return new Simulation({ broker, devices: 6, rate: 60, durationS: 30, qos: 1, ledger, seed: prefix.length, devicePrefix: prefix, backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000 });
}

describe('cluster: 2 routers × 3 nodes × 2 gateways', () => {
  it('every acknowledged reading lands exactly once on its owner across a node SIGKILL, a router SIGKILL and a 10 s etcd outage', async () => {
    const nodeDir = (id: string): string => join(dir, id);
    const nodes = new Map<string, ClusterProc>();
    for (const id of NODES) nodes.set(id, await startNodeProcess(etcd.urls, id, nodeDir(id), { ttl: 3 }));
    const tokens = tokensFile(join(dir, 'tokens'));
    const [p1, p2] = [await freePort(), await freePort()];
    let r1: ClusterProc | undefined = await startClusterRouterProcess(etcd.urls, p1, tokens);
    const r2 = await startClusterRouterProcess(etcd.urls, p2, tokens);
    const gws: DaemonProcess[] = [];
    for (const [i, gw] of ['gw-1', 'gw-2'].entries()) {
      const order = i === 0 ? [p1, p2] : [p2, p1];
      gws.push(await startDaemon({
        dataDir: join(dir, gw),
        args: ['--upstream', order.map((p) => `http://127.0.0.1:${p}`).join(','), '--gateway-id', gw, '--durability', 'fast'],
        env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKENS[gw]! },
      }));
    }
    const sims = gws.map((g, i) => fleet(g.mqttUrl!, `c${i}-`, join(dir, `ledger-${i}.jsonl`)));
    const runs: Promise<SimSummary>[] = sims.map((s) => s.run());
    try {
      await waitFor('first readings synced', async () => (await Promise.all(gws.map(synced))).every((s) => s.synced > 20));

      // A data node dies: only its partitions fail, the others keep syncing.
      await nodes.get('node-1')!.kill('SIGKILL');
      const before = await Promise.all(gws.map(synced));
      await waitFor('other nodes keep taking batches', async () => (await Promise.all(gws.map(synced))).every((s, i) => s.synced > before[i]!.synced + 20), 60_000).catch(async (e) => {
        console.log(JSON.stringify((await getJson(gws[0]!.httpUrl, '/sync/status')).json), r1?.stderr().slice(-3000), r2.stderr().slice(-2000), gws[0]!.stderr().slice(-2000));
        throw e;
      });
      // Its lease expires (membership), its ranges stay its own; it restarts on its data.
      const client = connectEtcd(etcd.urls);
      await waitFor('node-1 lease expired', async () => !(await listLiveNodes(client)).nodes.some((n) => n.id === 'node-1'));
      const owned = (await readTable(client))!.ranges.filter((r) => r.owner?.id === 'node-1').length;
      expect(owned).toBeGreaterThan(0);
      client.close();
      nodes.set('node-1', await startNodeProcess(etcd.urls, 'node-1', nodeDir('node-1'), { ttl: 3 }));

      // A router dies: the gateway that used it fails over to the other.
      const mid = await synced(gws[0]!);
      await r1.kill('SIGKILL');
      r1 = undefined;
      await waitFor('gw-1 syncing through r2', async () => (await synced(gws[0]!)).synced > mid.synced + 20);

      // All of etcd down for 10 s while uplinks go on from the cached table.
      const preOutage = await Promise.all(gws.map(synced));
      await etcd.stopFor(10, async () => {
        await waitFor('syncing while etcd is down', async () => (await Promise.all(gws.map(synced))).every((s, i) => s.synced > preOutage[i]!.synced + 20), 15_000).catch(async (e) => {
          for (const g of gws) console.log(JSON.stringify((await getJson(g.httpUrl, '/sync/status')).json), g.stderr().slice(-1500));
          console.log(r2.stderr().slice(-3000));
          for (const n of nodes.values()) console.log(n.stderr().slice(-1500));
          throw e;
        });
      });
    } finally {
      const summaries = await Promise.all(runs);
      for (const s of summaries) {
        expect(s.published).toBeGreaterThan(500);
        expect(s.unacked).toBe(0);
        expect(s.ledger?.lines).toBe(s.acked);
      }
    }
    await waitFor('every backlog drained', async () => (await Promise.all(gws.map(synced))).every((s) => s.backlog === 0), 120_000);

    for (const i of [0, 1]) {
      await expectExactLedger(join(dir, `ledger-${i}.jsonl`), r2.url, 500);
    }
    // Fleet-wide list through the router: every device, no partial answer.
    const list = (await getJson(r2.url, '/devices?limit=1000')).json as { devices: { id: string }[]; partial?: boolean };
    expect(list.partial).toBeUndefined();
    expect(list.devices.map((d) => d.id).sort()).toEqual([...Array.from({ length: 6 }, (_, j) => `c0-${j}`), ...Array.from({ length: 6 }, (_, j) => `c1-${j}`)].sort());

    // Byte for byte on the owner, nowhere else.
    const client = connectEtcd(etcd.urls);
    const table = (await readTable(client))!;
    client.close();
    for (const g of gws) await g.kill('SIGTERM');
    for (const n of nodes.values()) await n.kill('SIGTERM');
    await r2.kill('SIGTERM');
    for (const [i, d] of list.devices.entries()) {
      const owner = table.ownerOf(getCodec().partitionOf(d.id)).owner.id;
      const local = await recordsAt(join(dir, `gw-${d.id.startsWith('c0-') ? 1 : 2}`, 'devices', d.id));
      expect(local.length, d.id).toBeGreaterThan(20);
      expect(sameRecords(await recordsAt(join(nodeDir(owner), 'devices', d.id)), local), `${i} ${d.id}`).toBeUndefined();
      for (const other of NODES.filter((n) => n !== owner)) expect(existsSync(join(nodeDir(other), 'devices', d.id)), `${d.id} on ${other}`).toBe(false);
    }
  }, 300_000);
});
