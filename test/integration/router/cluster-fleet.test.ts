/**
 * The cluster router's fleet figures (in-process router, loopback port 0, a real etcd):
 * `GET /fleet` lists a node of the membership records with the load its live record
 * reports and the ranges it owns in the watched table, marks it down once its live
 * record is gone, and `/` serves the fleet page with its script.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistration, assignPartition, connectEtcd, initTable } from '../../../src/cluster/index.js';
import { startClusterRouter, type ClusterRouter } from '../../../src/router/cluster/cluster-router.js';
import type { FleetNode } from '../../../src/router/dashboard/index.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { silent } from '../sync/helpers.js';

const LOAD = { devices: 7, bytes: 4096, writesPerSec: 12.5, readsPerSec: 3 };

let etcd: EtcdCluster;
let router: ClusterRouter;
let client: ReturnType<typeof connectEtcd>;
let reg: NodeRegistration;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 16384);
  reg = await NodeRegistration.register(client, { id: 'node-a', address: { host: '127.0.0.1', port: 7000 }, capacity: { devices: 100, bytes: 1_000_000 }, load: () => LOAD, ttlSeconds: 5 });
  expect((await assignPartition(client, 0)).assigned).toBe(true);
  router = await startClusterRouter({ etcd: etcd.urls, httpPort: 0, log: silent });
});

afterAll(async () => {
  await router?.stop();
  await reg?.stop();
  client?.close();
  await etcd?.destroy();
});

async function get(path: string): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`http://127.0.0.1:${router.http.port}${path}`);
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** Polls /fleet until `ok` holds for node-a (the view and the 2 s cache catch up), 15 s at most. */
async function nodeA(ok: (n: FleetNode | undefined) => boolean): Promise<{ fleet: any; node: FleetNode | undefined }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const fleet = JSON.parse((await get('/fleet')).text);
    const node = (fleet.nodes as FleetNode[]).find((n) => n.id === 'node-a');
    if (ok(node) || Date.now() > deadline) return { fleet, node };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('cluster router fleet page', () => {
  it('lists a live node with its load and ranges, then marks it down when its live record is gone', async () => {
    const { fleet, node } = await nodeA((n) => n?.ranges === 1);
    expect(fleet).toMatchObject({ kind: 'cluster', sql: false, devices: null, gateways: [], untrackedUploads: 0 });
    expect(node).toMatchObject({ alive: true, address: '127.0.0.1:7000', ranges: 1, partitions: 16384, ...LOAD, updatedAt: expect.any(Number) });

    await reg.stop();
    const after = await nodeA((n) => n?.alive === false);
    expect(after.node).toMatchObject({ id: 'node-a', alive: false, address: null, devices: null, writesPerSec: null, ranges: 1 });
  });

  it('serves the fleet page and its script', async () => {
    const page = await get('/');
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.text).toContain('/dashboard/assets/fleet.js');
    for (const file of ['fleet.js', 'chart.js', 'app.css', 'uPlot.iife.min.js']) expect({ file, status: (await get(`/dashboard/assets/${file}`)).status }).toEqual({ file, status: 200 });
    expect(JSON.parse((await get('/dashboard/assets/app.js')).text).error.code).toBe('NOT_FOUND');
  });
});
