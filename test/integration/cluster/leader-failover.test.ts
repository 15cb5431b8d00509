/**
 * A 3-member etcd cluster: the Raft leader is SIGKILLed; table reads and writes go on
 * through the remaining two members and the cached view keeps following changes.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableView, assignPartition, connectEtcd, initTable, NodeRegistration, readTable, setOwner } from '../../../src/cluster/index.js';
import { isLmjError } from '../../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

// Waits on conditions (lease expiry, restarts, elections) with their own deadlines; the test timeout only bounds the sum.
let etcd: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd(3);
  client = connectEtcd(etcd.urls, { callTimeoutMs: 2000 });
});
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});

/** Retries while a call lands on the dead member or during the election (CLUSTER_UNAVAILABLE only). */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isLmjError(err, 'CLUSTER_UNAVAILABLE') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('3-member etcd', () => {
  it('after the leader is killed, table reads, writes, assignment and the watch continue', async () => {
    await initTable(client, 4096);
    const reg = await NodeRegistration.register(client, {
      id: 'n1',
      address: { host: '127.0.0.1', port: 1 },
      capacity: { devices: 10, bytes: 10 },
      load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }),
      ttlSeconds: 10,
    });
    const view = await TableView.open(client);
    try {
      await setOwner(client, 0, { kind: 'node', id: 'n1' });
      await view.waitFor((v) => v.tryCurrent()?.version === 2);
      const old = await etcd.killLeader();
      const now = await etcd.leader();
      expect(now.name).not.toBe(old.name);

      expect((await retrying(() => readTable(client)))?.version).toBe(2);
      const moved = await retrying(() => setOwner(client, 4096, { kind: 'node', id: 'n1' }));
      expect(moved.version).toBe(3);
      const assigned = await retrying(() => assignPartition(client, 9000));
      expect(assigned).toMatchObject({ assigned: true, range: { from: 8192, owner: { kind: 'node', id: 'n1' }, epoch: 1 } });
      await view.waitFor((v) => v.tryCurrent()?.version === 4, 20_000);
      expect(view.nodeFor(9000)).toBe('n1');
      expect(view.status().lastError).toBeNull();

      // The killed member rejoins on its data dir and catches up.
      await etcd.restart(old);
      const direct = connectEtcd([old.clientUrl]);
      try {
        expect((await retrying(() => readTable(direct)))?.version).toBe(4);
      } finally {
        direct.close();
      }
    } finally {
      await view.close();
      await reg.stop();
    }
  }, 120_000);
});
