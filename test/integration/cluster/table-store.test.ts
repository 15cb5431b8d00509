/**
 * Table mutations against a real single-member etcd: init round trip, compare-and-swap
 * conflicts between concurrent writers, first-batch assignment to the least-loaded node.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  META_KEY,
  NodeRegistration,
  PARTITIONS,
  ROOT,
  TableView,
  assignPartition,
  bumpEpoch,
  commitRangeChange,
  connectEtcd,
  initTable,
  putGroup,
  readRange,
  readTable,
  setOwner,
  type LoadFigures,
} from '../../../src/cluster/index.js';
import { isLmjError } from '../../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

let etcd: EtcdCluster;
let client: Etcd3;
const regs: NodeRegistration[] = [];

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
});
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});
afterEach(async () => {
  for (const r of regs.splice(0)) await r.stop();
  await client.delete().prefix(ROOT).exec();
});

const idle: LoadFigures = { devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 };

async function registerNode(id: string, load: LoadFigures = idle): Promise<NodeRegistration> {
  const reg = await NodeRegistration.register(client, { id, address: { host: '127.0.0.1', port: 1 }, capacity: { devices: 1000, bytes: 1e9 }, load: () => load, ttlSeconds: 5 });
  regs.push(reg);
  return reg;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('init', () => {
  it('writes 65536/N unowned ranges at epoch 0, readable back; a second init is TABLE_EXISTS', async () => {
    const meta = await initTable(client, 4096);
    expect(meta).toMatchObject({ state: 'ready', version: 1, partitionsPerRange: 4096, format: 1 });
    const table = await readTable(client);
    expect(table).not.toBeNull();
    expect(table?.ranges.length).toBe(16);
    expect(table?.ranges.map((r) => [r.from, r.to])).toEqual(Array.from({ length: 16 }, (_, i) => [i * 4096, i * 4096 + 4095]));
    expect(table?.ranges.every((r) => r.owner === null && r.epoch === 0)).toBe(true);
    expect(table?.rangeOf(5000).from).toBe(4096);
    expect(await codeOf(initTable(client, 4096))).toBe('TABLE_EXISTS');
    expect(await codeOf(initTable(client, 0))).toBe('BAD_REQUEST');
    expect(await codeOf(initTable(client, 15))).toBe('BAD_REQUEST');
  });

  it('covers 65536 with a shorter last range when N does not divide it, across several init transactions', async () => {
    await initTable(client, 300);
    const table = await readTable(client);
    const n = Math.ceil(PARTITIONS / 300);
    expect(table?.ranges.length).toBe(n);
    expect(table?.ranges[n - 1]).toMatchObject({ from: (n - 1) * 300, to: PARTITIONS - 1 });
    expect(table?.rangeOf(PARTITIONS - 1).from).toBe((n - 1) * 300);
  });

  it('is not visible to readers until the header says ready, and a crashed init resumes', async () => {
    // An init that died after creating the header: only `initializing` is in etcd.
    await client.put(META_KEY).value(JSON.stringify({ format: 1, state: 'initializing', version: 0, partitionsPerRange: 8192, createdAt: 1 })).exec();
    expect(await readTable(client)).toBeNull();
    expect(await codeOf(readRange(client, 0))).toBe('TABLE_NOT_INITIALIZED');
    expect(await codeOf(initTable(client, 1024))).toBe('TABLE_EXISTS');
    const meta = await initTable(client, 8192);
    expect(meta.state).toBe('ready');
    expect((await readTable(client))?.ranges.length).toBe(8);
  });
});

describe('mutations', () => {
  it('setOwner increments the epoch and the table version; unknown owners are refused', async () => {
    await initTable(client, 16384);
    await registerNode('n1');
    const done = await setOwner(client, 16384, { kind: 'node', id: 'n1' });
    expect(done.range).toMatchObject({ from: 16384, to: 32767, owner: { kind: 'node', id: 'n1' }, epoch: 1 });
    expect(done.version).toBe(2);
    const bumped = await bumpEpoch(client, 16384, 1);
    expect(bumped.range.epoch).toBe(2);
    expect(bumped.version).toBe(3);
    expect(await codeOf(bumpEpoch(client, 16384, 1))).toBe('TABLE_CONFLICT');
    expect(await codeOf(setOwner(client, 16384, { kind: 'node', id: 'ghost' }))).toBe('BAD_REQUEST');
    expect(await codeOf(setOwner(client, 100, { kind: 'node', id: 'n1' }))).toBe('NOT_FOUND');
    await putGroup(client, 'g1', ['http://127.0.0.1:9']);
    const toGroup = await setOwner(client, 0, { kind: 'group', id: 'g1' });
    expect(toGroup.range.owner).toEqual({ kind: 'group', id: 'g1' });
    const table = await readTable(client);
    expect(table?.version).toBe(4);
    expect(table?.ownerOf(20000).owner).toEqual({ kind: 'node', id: 'n1' });
    expect(table?.ownerOf(1).owner).toEqual({ kind: 'group', id: 'g1' });
  });

  it('two concurrent writers of the same range: exactly one commits, the other gets TABLE_CONFLICT', async () => {
    await initTable(client, 16384);
    await registerNode('a');
    await registerNode('b');
    const other = connectEtcd(etcd.urls);
    try {
      let wins = 0;
      let conflicts = 0;
      for (let round = 0; round < 10; round++) {
        const results = await Promise.allSettled([setOwner(client, 0, { kind: 'node', id: 'a' }, round), setOwner(other, 0, { kind: 'node', id: 'b' }, round)]);
        for (const r of results) {
          if (r.status === 'fulfilled') wins++;
          else if (isLmjError(r.reason, 'TABLE_CONFLICT')) conflicts++;
          else throw r.reason;
        }
        // Exactly one commit per round: the range's epoch moved by one.
        expect((await readRange(client, 0)).range.epoch).toBe(round + 1);
      }
      expect(wins).toBe(10);
      expect(conflicts).toBe(10);
      expect((await readTable(client))?.version).toBe(11);
    } finally {
      other.close();
    }
  });

  it('a commit from a stale read loses: the same range, or another range changed in between', async () => {
    await initTable(client, 16384);
    await registerNode('a');
    await registerNode('b');
    // Two writers read the same state, then both commit.
    const r1 = await readRange(client, 0);
    const r2 = await readRange(client, 0);
    await commitRangeChange(client, r1, { ...r1.range, owner: { kind: 'node', id: 'a' }, epoch: 1 });
    expect(await codeOf(commitRangeChange(client, r2, { ...r2.range, owner: { kind: 'node', id: 'b' }, epoch: 1 }))).toBe('TABLE_CONFLICT');
    expect((await readRange(client, 0)).range.owner).toEqual({ kind: 'node', id: 'a' });
    // A change of another range moves the header: a read from before it loses too.
    const stale = await readRange(client, 20000);
    await setOwner(client, 32768, { kind: 'node', id: 'b' });
    expect(await codeOf(commitRangeChange(client, stale, { ...stale.range, owner: { kind: 'node', id: 'b' }, epoch: 1 }))).toBe('TABLE_CONFLICT');
    expect((await readTable(client))?.version).toBe(3);
    // Invariants a change must keep.
    const fresh = await readRange(client, 20000);
    expect(await codeOf(commitRangeChange(client, fresh, { ...fresh.range, owner: { kind: 'node', id: 'a' } }))).toBe('BAD_REQUEST');
    expect(await codeOf(commitRangeChange(client, fresh, { ...fresh.range, to: 20000, epoch: 1 }))).toBe('BAD_REQUEST');
  });

  it('two concurrent inits: one table, the other init is refused', async () => {
    const other = connectEtcd(etcd.urls);
    try {
      const results = await Promise.allSettled([initTable(client, 1024), initTable(other, 2048)]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok.length).toBe(1);
      const failed = results.find((r) => r.status === 'rejected');
      expect(failed?.status === 'rejected' && isLmjError(failed.reason) ? failed.reason.code : undefined).toBe('TABLE_EXISTS');
      const table = await readTable(client);
      const n = table?.meta.partitionsPerRange;
      expect(n === 1024 || n === 2048).toBe(true);
      expect(table?.ranges.length).toBe(65536 / (n ?? 1));
    } finally {
      other.close();
    }
  });

  it('concurrent first batches for one unowned partition agree on one owner (assigned once)', async () => {
    await initTable(client, 256);
    await registerNode('a');
    await registerNode('b');
    const clients = [client, connectEtcd(etcd.urls), connectEtcd(etcd.urls)];
    try {
      const results = await Promise.all(clients.flatMap((c) => [assignPartition(c, 777), assignPartition(c, 770)]));
      expect(results.filter((r) => r.assigned).length).toBe(1);
      const owners = new Set(results.map((r) => r.range.owner?.id));
      expect(owners.size).toBe(1);
      const range = await readRange(client, 777);
      expect(range.range).toMatchObject({ from: 768, epoch: 1 });
      expect(range.range.owner?.id).toBe([...owners][0]);
    } finally {
      for (const c of clients.slice(1)) c.close();
    }
  });

  it('assigns to the least-loaded live node, spreading ranges over idle nodes; NO_LIVE_NODES without any', async () => {
    await initTable(client, 256);
    expect(await codeOf(assignPartition(client, 0))).toBe('NO_LIVE_NODES');
    await registerNode('busy', { devices: 900, bytes: 0, writesPerSec: 0, readsPerSec: 0 });
    await registerNode('idle1');
    await registerNode('idle2');
    const owners: string[] = [];
    for (const p of [0, 256, 512, 768]) owners.push(String((await assignPartition(client, p)).range.owner?.id));
    expect(owners.sort()).toEqual(['idle1', 'idle1', 'idle2', 'idle2']);
    // An owned partition stays where it is.
    const again = await assignPartition(client, 1);
    expect(again.assigned).toBe(false);
    expect(again.range.owner?.id).toBe((await readRange(client, 0)).range.owner?.id);
    expect(again.range.epoch).toBe(1);
    // Concurrent first assignments sharing one count map (a router's burst) spread too,
    // instead of all taking the node that was least loaded when they started.
    const counts = (await readTable(client))!.rangesPerOwner();
    const burst = await Promise.all([1024, 1280, 1536, 1792].map((p) => assignPartition(client, p, { rangesPerOwner: counts })));
    expect(burst.map((c) => String(c.range.owner?.id)).sort()).toEqual(['idle1', 'idle1', 'idle2', 'idle2']);
    expect(counts.get('idle1')).toBe(4);
    expect(counts.get('idle2')).toBe(4);
  });

  it('a TableView sees every committed change through its watch', async () => {
    await initTable(client, 8192);
    await registerNode('w1');
    const view = await TableView.open(client);
    try {
      expect(view.current().version).toBe(1);
      expect(view.liveNodes().map((n) => n.id)).toEqual(['w1']);
      await setOwner(client, 8192, { kind: 'node', id: 'w1' });
      await view.waitFor((v) => v.tryCurrent()?.version === 2);
      expect(view.nodeFor(9000)).toBe('w1');
      expect(view.rangeOf(9000)).toMatchObject({ from: 8192, epoch: 1 });
      expect(view.snapshot().ranges).toEqual([{ from: 8192, to: 16383, node: 'w1', owner: { kind: 'node', id: 'w1' }, epoch: 1 }]);
      expect(() => view.nodeFor(0)).toThrow(expect.objectContaining({ code: 'UNASSIGNED' }));
      expect(view.status().counters.invalid).toBe(0);
    } finally {
      await view.close();
    }
  });
});
