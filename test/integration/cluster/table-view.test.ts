/**
 * The cached view against bad etcd content written behind its back (with etcdctl and
 * the client): overlapping ranges, gaps, unknown owners, non-JSON and CBOR values, a
 * newer format version. Each gives a clear error and a counter while the last good
 * table keeps serving; a fix in etcd makes the view current again.
 */
import { execFileSync } from 'node:child_process';
import { encode as cborEncode } from 'cbor-x';
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { META_KEY, ROOT, TableView, connectEtcd, initTable, liveKey, nodeKey, rangeKey, setOwner } from '../../../src/cluster/index.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

let etcd: EtcdCluster;
let client: Etcd3;
let view: TableView;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
});
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});
beforeEach(async () => {
  await initTable(client, 16384);
  await client.put(nodeKey('n1')).value(JSON.stringify({ format: 1, id: 'n1', registeredAt: 1 })).exec();
  await setOwner(client, 0, { kind: 'node', id: 'n1' });
  view = await TableView.open(client);
  expect(view.current().version).toBe(2);
});
afterEach(async () => {
  await view.close();
  await client.delete().prefix(ROOT).exec();
});

function etcdctlPut(key: string, value: string): void {
  execFileSync('etcdctl', ['--endpoints', etcd.urls.join(','), 'put', key, value], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' });
}

/** Waits until the view counted one more invalid table than `before`, then checks it still serves the good one. */
async function expectRefused(before: number, code: string, message: RegExp): Promise<void> {
  await view.waitFor((v) => v.status().counters.invalid > before);
  const st = view.status();
  expect(st.lastError?.code).toBe(code);
  expect(st.lastError?.message).toMatch(message);
  // The last good table still answers.
  expect(st.version).toBe(2);
  expect(view.nodeFor(5)).toBe('n1');
  expect(view.rangeOf(20000)).toMatchObject({ from: 16384, to: 32767, epoch: 0 });
}

async function expectHealed(): Promise<void> {
  await view.waitFor((v) => v.status().lastError === null);
  expect(view.nodeFor(5)).toBe('n1');
}

describe('bad content in etcd', () => {
  it('an overlapping range (etcdctl put) is refused; deleting it heals', async () => {
    const before = view.status().counters.invalid;
    etcdctlPut(rangeKey(100), JSON.stringify({ format: 1, from: 100, to: 200, owner: null, epoch: 0 }));
    await expectRefused(before, 'TABLE_INVALID', /overlaps/);
    await client.delete().key(rangeKey(100)).exec();
    await expectHealed();
  });

  it('a gap (a range key deleted) is refused', async () => {
    const before = view.status().counters.invalid;
    await client.delete().key(rangeKey(16384)).exec();
    await expectRefused(before, 'TABLE_INVALID', /partitions 16384\.\.32767 are in no range/);
  });

  it('a range naming an unknown owner is refused', async () => {
    const before = view.status().counters.invalid;
    await client.put(rangeKey(16384)).value(JSON.stringify({ format: 1, from: 16384, to: 32767, owner: { kind: 'node', id: 'ghost' }, epoch: 1 })).exec();
    await expectRefused(before, 'TABLE_INVALID', /unknown node ghost/);
    await client.put(rangeKey(16384)).value(JSON.stringify({ format: 1, from: 16384, to: 32767, owner: { kind: 'node', id: 'n1' }, epoch: 1 })).exec();
    await expectHealed();
    expect(view.nodeFor(20000)).toBe('n1');
  });

  it('non-JSON garbage and a CBOR value are refused as not JSON', async () => {
    let before = view.status().counters.invalid;
    etcdctlPut(rangeKey(32768), '{"format":1,"from":32768,');
    await expectRefused(before, 'TABLE_INVALID', /not JSON/);
    before = view.status().counters.invalid;
    await client.put(rangeKey(32768)).value(Buffer.from(cborEncode({ format: 1, from: 32768, to: 49151, owner: null, epoch: 0 }))).exec();
    await expectRefused(before, 'TABLE_INVALID', /not JSON/);
    expect(view.status().lastError?.details).toEqual({ key: rangeKey(32768) });
  });

  it('a well-formed value of the wrong shape is refused with the field named', async () => {
    const before = view.status().counters.invalid;
    await client.put(rangeKey(49152)).value(JSON.stringify({ format: 1, from: 49152, to: 65535, owner: { kind: 'disk', id: 'x' }, epoch: -1 })).exec();
    await expectRefused(before, 'TABLE_INVALID', /owner\.kind/);
  });

  it('a table from a newer format version is TABLE_FORMAT_UNSUPPORTED', async () => {
    const before = view.status().counters.invalid;
    await client.put(META_KEY).value(JSON.stringify({ format: 2, state: 'ready', version: 9, partitionsPerRange: 16384, createdAt: 1, shards: [] })).exec();
    await expectRefused(before, 'TABLE_FORMAT_UNSUPPORTED', /format version 2, this build reads 1/);
    expect(view.status().lastError?.details).toMatchObject({ format: 2, supported: 1 });
  });

  it('a removed header keeps the last good table', async () => {
    const before = view.status().counters.invalid;
    await client.delete().key(META_KEY).exec();
    await expectRefused(before, 'TABLE_INVALID', /header was removed/);
  });

  it('a bad live-node record hides only that node and is counted', async () => {
    await client.put(liveKey('n1')).value('garbage').exec();
    await view.waitFor((v) => v.status().counters.invalidLive === 1);
    expect(view.liveNodes()).toEqual([]);
    expect(view.status().lastError).toBeNull();
    expect(view.nodeFor(5)).toBe('n1');
  });

  it('a view opened on an invalid table reports the error and serves once etcd is fixed', async () => {
    await client.put(rangeKey(16384)).value('not json').exec();
    const fresh = await TableView.open(client);
    try {
      expect(fresh.status()).toMatchObject({ initialized: false, lastError: { code: 'TABLE_INVALID' } });
      expect(() => fresh.nodeFor(5)).toThrow(expect.objectContaining({ code: 'TABLE_INVALID' }));
      expect(fresh.status().counters.invalid).toBe(1);
      await client.put(rangeKey(16384)).value(JSON.stringify({ format: 1, from: 16384, to: 32767, owner: null, epoch: 0 })).exec();
      await fresh.waitFor((v) => v.status().initialized);
      expect(fresh.nodeFor(5)).toBe('n1');
    } finally {
      await fresh.close();
    }
  });
});
