/**
 * Hierarchical routing, real processes on one etcd: the top table gives one range to
 * router group g1 and another to a top-level node. The top router forwards g1's part to
 * the group's router, which routes within the group's own table (`--group g1`, scoped
 * under /lmj/group/g1) to the group's nodes, assigning on first use. Writes, queries and
 * the fleet list go through both levels; each device lies only on the node its level's
 * table names. Requires `npm run build`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, initTable, putGroup, readRange, readTable, scopeTo, setOwner } from '../../../src/cluster/index.js';
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
const procs: ClusterProc[] = [];
let top: ClusterProc;

// Two devices in different ranges of the top table.
const codec = getCodec();
const IN_GROUP = 'grp-dev-1';
const ON_TOP = ['grp-dev-2', 'grp-dev-3', 'grp-dev-4', 'grp-dev-5'].find((d) => codec.partitionOf(d) >> 8 !== codec.partitionOf(IN_GROUP) >> 8)!;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  await initTable(scopeTo(client, 'g1'), 256);
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-groups-'));
  const tokens = tokensFile(join(dir, 'tokens'));
  procs.push(await startNodeProcess(etcd.urls, 'top-0', join(dir, 'top-0')));
  for (const id of ['g1-0', 'g1-1']) procs.push(await startNodeProcess(etcd.urls, id, join(dir, id), { group: 'g1' }));
  const groupRouter = await startClusterRouterProcess(etcd.urls, await freePort(), tokens, 'g1');
  procs.push(groupRouter);
  await putGroup(client, 'g1', [groupRouter.url]);
  await setOwner(client, (await readRange(client, codec.partitionOf(IN_GROUP))).range.from, { kind: 'group', id: 'g1' });
  top = await startClusterRouterProcess(etcd.urls, await freePort(), tokens);
  procs.push(top);
  ing = await ingestor(join(dir, 'gw'));
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.kill();
  await ing?.close();
  client?.close();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('router groups (two levels)', () => {
  it('routes a group-owned range through the group router to the group table\'s node, the rest to top-level nodes', async () => {
    await publish(ing, IN_GROUP, 0, 6);
    await publish(ing, ON_TOP, 0, 3);
    const body = encodeBatch({
      gatewayId: 'gw-1',
      seq: 1,
      devices: [
        { deviceId: IN_GROUP, records: await gatewayRecords(ing, IN_GROUP) },
        { deviceId: ON_TOP, records: await gatewayRecords(ing, ON_TOP) },
      ],
    });
    const res = await request(`${top.url}/sync/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/cbor', 'x-lmj-gateway': 'gw-1', authorization: `Bearer ${TOKEN}` }, body });
    const answer = (await res.body.json()) as { devices: { id: string; applied?: number }[] };
    expect(res.statusCode).toBe(200);
    expect(answer.devices).toMatchObject([{ id: IN_GROUP, applied: 6 }, { id: ON_TOP, applied: 3 }]);

    // The group's own table assigned the range to one of its nodes; the top table still says group.
    const groupTable = (await readTable(scopeTo(client, 'g1')))!;
    const groupOwner = groupTable.ownerOf(codec.partitionOf(IN_GROUP)).owner;
    expect(groupOwner.kind).toBe('node');
    expect(['g1-0', 'g1-1']).toContain(groupOwner.id);
    const topTable = (await readTable(client))!;
    expect(topTable.ownerOf(codec.partitionOf(IN_GROUP)).owner).toEqual({ kind: 'group', id: 'g1' });
    expect(topTable.ownerOf(codec.partitionOf(ON_TOP)).owner).toEqual({ kind: 'node', id: 'top-0' });

    // Queries through both levels.
    expect((await getJson(top.url, `/devices/${IN_GROUP}/readings`)).json.readings).toHaveLength(6);
    expect((await getJson(top.url, `/devices/${ON_TOP}/readings`)).json.readings).toHaveLength(3);
    const fleet = (await getJson(top.url, '/devices')).json as { devices: { id: string }[]; partial?: boolean };
    expect(fleet.partial).toBeUndefined();
    expect(fleet.devices.map((d) => d.id).sort()).toEqual([IN_GROUP, ON_TOP].sort());

    // On disk: only where each level's table says.
    expect(await recordsAt(join(dir, groupOwner.id, 'devices', IN_GROUP))).toHaveLength(6);
    for (const other of ['top-0', 'g1-0', 'g1-1'].filter((n) => n !== groupOwner.id)) expect(existsSync(join(dir, other, 'devices', IN_GROUP)), other).toBe(false);
    expect(await recordsAt(join(dir, 'top-0', 'devices', ON_TOP))).toHaveLength(3);
    for (const other of ['g1-0', 'g1-1']) expect(existsSync(join(dir, other, 'devices', ON_TOP)), other).toBe(false);
  }, 120_000);
});
