/**
 * A router routing by a stale table, real processes: a 3-member etcd; the router talks
 * only to member m0, the nodes to m1 and m2. m0 is frozen (SIGSTOP), so the router's
 * watch stalls; the range is moved to another node behind its back. The old owner
 * refuses (STALE_EPOCH with the new route), the router re-routes at once from the
 * refusal's details and the batch lands on the new owner — nothing written on the old
 * one. Also: bad input on the cluster router's endpoints. Requires `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, initTable, readRange, setOwner } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { startClusterRouterProcess, startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { freePort } from '../../helpers/free-port.js';
import { TOKEN, gatewayRecords, getJson, ingestor, publish, recordsAt, tokensFile } from '../../integration/sync/helpers.js';

let etcd: EtcdCluster;
let client: Etcd3;
let ing: Ingestor;
let dir: string;
let nodeA: ClusterProc;
let nodeB: ClusterProc;
let router: ClusterProc;
const DEVICE = 'stale-dev-1';

beforeAll(async () => {
  etcd = await startEtcd(3);
  const others = etcd.urls.slice(1);
  client = connectEtcd(others);
  await initTable(client, 256);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-stale-'));
  ing = await ingestor(join(dir, 'gw'));
  nodeA = await startNodeProcess(others, 'node-a', join(dir, 'a'));
  nodeB = await startNodeProcess(others, 'node-b', join(dir, 'b'));
  const { range } = await readRange(client, getCodec().partitionOf(DEVICE));
  await setOwner(client, range.from, { kind: 'node', id: 'node-a' });
  router = await startClusterRouterProcess([etcd.urls[0]!], await freePort(), tokensFile(join(dir, 'tokens')));
}, 120_000);

afterAll(async () => {
  const m0 = etcd?.members[0]?.proc;
  if (m0?.pid !== undefined) process.kill(m0.pid, 'SIGCONT');
  for (const p of [router, nodeA, nodeB]) await p?.kill();
  await ing?.close();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function post(body: Buffer, headers: Record<string, string> = { 'x-lmj-gateway': 'gw-1', authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; json: any }> {
  const res = await request(`${router.url}/sync/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/cbor', ...headers }, body });
  return { status: res.statusCode, json: await res.body.json() };
}

const batch = async (seq: number): Promise<Buffer> => encodeBatch({ gatewayId: 'gw-1', seq, devices: [{ deviceId: DEVICE, records: await gatewayRecords(ing, DEVICE) }] });

describe('cluster router with a stale table', () => {
  it('re-routes from the refusal when the range moved behind its back; nothing lands on the old owner', async () => {
    await publish(ing, DEVICE, 0, 4);
    const first = await post(await batch(1));
    expect(first.status).toBe(200);
    expect(first.json.devices[0]).toMatchObject({ id: DEVICE, applied: 4 });

    // Freeze the router's only etcd member: its watch stalls; m1 + m2 keep a quorum.
    process.kill(etcd.members[0]!.proc!.pid!, 'SIGSTOP');
    const { range } = await readRange(client, getCodec().partitionOf(DEVICE));
    await setOwner(client, range.from, { kind: 'node', id: 'node-b' }, 1);
    const statusOf = async (n: ClusterProc): Promise<number> => (await getJson(n.url, '/cluster/v1/status')).json.table.version as number;
    const version = (await readRange(client, range.from)).meta.version;
    for (const n of [nodeA, nodeB]) {
      for (let i = 0; (await statusOf(n)) < version; i++) {
        if (i > 200) throw new Error('node view did not catch up');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect((await getJson(router.url, '/routing')).json.ranges.find((r: { from: number }) => r.from === range.from)).toMatchObject({ node: 'node-a', epoch: 1 });

    await publish(ing, DEVICE, 4, 3);
    const second = await post(await batch(2));
    expect(second.status).toBe(200);
    expect(second.json.devices[0]).toMatchObject({ id: DEVICE, applied: 7, duplicates: 0 });
    const metrics = await (await request(`${router.url}/metrics`)).body.text();
    expect(metrics).toMatch(/lmj_router_batches_total\{result="refused_STALE_EPOCH"\} [1-9]/);
    // The old owner kept the first batch only; the new owner has everything.
    expect(await recordsAt(join(dir, 'a', 'devices', DEVICE))).toHaveLength(4);
    expect(await recordsAt(join(dir, 'b', 'devices', DEVICE))).toHaveLength(7);
    process.kill(etcd.members[0]!.proc!.pid!, 'SIGCONT');
  }, 120_000);

  it('refuses bad input on the router endpoints with clear codes', async () => {
    const body = await batch(3);
    expect((await post(body, { 'x-lmj-gateway': 'gw-1' })).json.error.code).toBe('UNAUTHORIZED');
    expect((await post(body, { 'x-lmj-gateway': 'gw-1', authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const garbage = await post(Buffer.from('definitely not cbor'));
    expect({ status: garbage.status, code: garbage.json.error.code }).toEqual({ status: 400, code: 'BAD_BATCH' });
    const foreign = encodeBatch({ gatewayId: 'gw-2', seq: 1, devices: [{ deviceId: DEVICE, records: await gatewayRecords(ing, DEVICE) }] });
    expect((await post(foreign)).status).toBe(401);
    expect((await getJson(router.url, '/devices/bad%20id/readings')).status).toBe(400);
    expect((await getJson(router.url, '/devices?limit=0')).status).toBe(400);
    // A device in a range nobody ever owned: unknown, not an error of the cluster.
    const unknown = await getJson(router.url, '/devices/never-seen-device-x');
    expect(unknown.status === 404 ? unknown.json.error.code : unknown.json).toBe('NOT_FOUND');
  }, 60_000);
});
