/**
 * `lmj-edge node` as real processes on a real etcd: a node applies and answers only for
 * partitions it owns at the routed epoch; every refusal (NOT_OWNER, STALE_EPOCH,
 * EPOCH_AHEAD) carries the current range, epoch and owner, and nothing is written on a
 * node that refused; bad input on the node's endpoints is refused with a clear code.
 * Requires `npm run build`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bumpEpoch, connectEtcd, initTable, readRange, setOwner } from '../../../src/cluster/index.js';
import { getCodec } from '../../../src/codec/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { startNodeProcess, type ClusterProc } from '../../helpers/cluster-process.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { gatewayRecords, ingestor, publish, recordsAt } from '../../integration/sync/helpers.js';

let etcd: EtcdCluster;
let client: Etcd3;
let ing: Ingestor;
let dir: string;
let a: ClusterProc;
let b: ClusterProc;
const DEVICE = 'node-dev-1';

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  // One dir for the whole file (the processes outlive single tests); removed in afterAll.
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-node-'));
  ing = await ingestor(join(dir, 'gw'));
  await publish(ing, DEVICE, 0, 5);
  a = await startNodeProcess(etcd.urls, 'node-a', join(dir, 'a'));
  b = await startNodeProcess(etcd.urls, 'node-b', join(dir, 'b'));
}, 120_000);

afterAll(async () => {
  await a?.kill();
  await b?.kill();
  await ing?.close();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function batchBody(): Promise<Buffer> {
  return encodeBatch({ gatewayId: 'gw-1', seq: 1, devices: [{ deviceId: DEVICE, records: await gatewayRecords(ing, DEVICE) }] });
}

async function apply(node: ClusterProc, body: Buffer, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await request(`${node.url}/cluster/v1/apply`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'gw-1', ...headers }, body });
  return { status: res.statusCode, json: await res.body.json() };
}

async function get(node: ClusterProc, path: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await request(`${node.url}${path}`, { headers });
  return { status: res.statusCode, json: await res.body.json() };
}

const written = (node: string): boolean => existsSync(join(dir, node, 'devices', DEVICE));

describe('lmj-edge node', () => {
  it('applies only its own partitions at the routed epoch; refusals carry the current route and write nothing', async () => {
    const p = getCodec().partitionOf(DEVICE);
    const { range } = await readRange(client, p);
    await setOwner(client, range.from, { kind: 'node', id: 'node-a' });
    const body = await batchBody();
    const claim = (epoch: number): Record<string, string> => ({ 'x-lmj-route': `${range.from}:${epoch}` });

    // node-b is not the owner (same epoch, once its watch has the change).
    const notOwner = await apply(b, body, claim(1));
    expect(notOwner.status).toBe(421);
    expect(notOwner.json.error.code).toBe('NOT_OWNER');
    expect(notOwner.json.error.details).toMatchObject({ partition: p, from: range.from, epoch: 1, owner: { kind: 'node', id: 'node-a' } });
    expect(written('b')).toBe(false);

    // A claim ahead of the table: the node waits for its watch, then refuses.
    const ahead = await apply(a, body, claim(5));
    expect(ahead.status).toBe(503);
    expect(ahead.json.error.code).toBe('EPOCH_AHEAD');
    expect(written('a')).toBe(false);

    const ok = await apply(a, body, claim(1));
    expect(ok.status).toBe(200);
    expect(ok.json.devices[0]).toMatchObject({ id: DEVICE, applied: 5, duplicates: 0 });

    // Fenced: the epoch moves on, the old claim is stale.
    await bumpEpoch(client, range.from, 1);
    const stale = await apply(a, body, claim(1));
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe('STALE_EPOCH');
    expect(stale.json.error.details).toMatchObject({ epoch: 2, requested: { from: range.from, epoch: 1 } });

    // Queries: the owner answers (with or without the router's claim), the other node refuses.
    expect((await get(a, `/devices/${DEVICE}/readings`, claim(2))).json.readings).toHaveLength(5);
    expect((await get(a, `/devices/${DEVICE}`)).status).toBe(200);
    const q = await get(b, `/devices/${DEVICE}/latest`);
    expect(q.status).toBe(421);
    expect(q.json.error.code).toBe('NOT_OWNER');
    expect((await get(a, `/devices/${DEVICE}/readings`, claim(1))).json.error.code).toBe('STALE_EPOCH');
    // Only the owner holds the device, byte for byte what the gateway sent.
    expect(await recordsAt(join(dir, 'a', 'devices', DEVICE))).toHaveLength(5);
    expect(written('b')).toBe(false);
  }, 60_000);

  it('refuses bad input on the apply endpoint with a clear code and writes nothing', async () => {
    const p = getCodec().partitionOf(DEVICE);
    const { range } = await readRange(client, p);
    const body = await batchBody();
    const cases: [Buffer, Record<string, string>, number, string][] = [
      [body, {}, 400, 'BAD_REQUEST'],
      [body, { 'x-lmj-route': 'garbage' }, 400, 'BAD_REQUEST'],
      [body, { 'x-lmj-route': '70000:1' }, 400, 'BAD_REQUEST'],
      [body, { 'x-lmj-route': `${range.from}:${range.epoch - 1}` }, 409, 'STALE_EPOCH'],
      [Buffer.from([0xa1, 0x61]), { 'x-lmj-route': `${range.from}:${range.epoch}` }, 400, 'BAD_BATCH'],
      [Buffer.from('not cbor at all'), { 'x-lmj-route': `${range.from}:${range.epoch}` }, 400, 'BAD_BATCH'],
    ];
    for (const [raw, headers, status, code] of cases) {
      const res = await apply(b, raw, headers);
      expect({ status: res.status, code: res.json.error?.code }, JSON.stringify(headers)).toEqual({ status, code });
    }
    const wrongGw = await request(`${a.url}/cluster/v1/apply`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'gw-2', 'x-lmj-route': `${range.from}:${range.epoch}` }, body });
    expect(wrongGw.statusCode).toBe(401);
    await wrongGw.body.dump();
    expect(written('b')).toBe(false);
    // The node's status reports its table and devices.
    const st = await get(a, '/cluster/v1/status');
    expect(st.json).toMatchObject({ id: 'node-a', devices: 1, table: { connected: true, initialized: true } });
  }, 60_000);
});
