/**
 * etcd down: every member SIGKILLed for a few seconds, then restarted on its data dir.
 * While it is down the cached view keeps answering lookups and table changes fail with
 * CLUSTER_UNAVAILABLE in bounded time; after the restart changes succeed and reach the
 * view through its reconnected watch.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistration, TableView, connectEtcd, initTable, listLiveNodes, liveKey, nodeKey, readTable, setOwner } from '../../../src/cluster/index.js';
import { LmjError, isLmjError } from '../../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

// Waits on conditions (lease expiry, restarts, elections) with their own deadlines; the test timeout only bounds the sum.
let etcd: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls, { callTimeoutMs: 1000 });
});
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});

async function rejection(p: Promise<unknown>): Promise<LmjError> {
  try {
    await p;
  } catch (err) {
    if (isLmjError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** Retries `fn` while it fails with CLUSTER_UNAVAILABLE (the client's circuit breaker reopens a few seconds after a restart). */
async function whenReachable<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
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

describe('etcd outage', () => {
  it('lookups keep working from the cache, mutations fail clearly and succeed after the restart', async () => {
    await initTable(client, 8192);
    await client.put(nodeKey('n1')).value(JSON.stringify({ format: 1, id: 'n1', registeredAt: 1 })).exec();
    await client.put(nodeKey('n2')).value(JSON.stringify({ format: 1, id: 'n2', registeredAt: 1 })).exec();
    await setOwner(client, 0, { kind: 'node', id: 'n1' });
    const view = await TableView.open(client);
    try {
      expect(view.status()).toMatchObject({ connected: true, version: 2 });
      await etcd.stopFor(3, async () => {
        await view.waitFor((v) => !v.status().connected);
        // Served from the cache while etcd is gone.
        expect(view.nodeFor(100)).toBe('n1');
        expect(view.rangeOf(9000)).toMatchObject({ from: 8192, epoch: 0, owner: null });
        const started = Date.now();
        const err = await rejection(setOwner(client, 8192, { kind: 'node', id: 'n2' }));
        expect(err.code).toBe('CLUSTER_UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(10_000);
        expect((await rejection(readTable(client))).code).toBe('CLUSTER_UNAVAILABLE');
        expect(view.nodeFor(100)).toBe('n1');
      });
      // The data survived the restart (same data dir), and a change commits again.
      const done = await whenReachable(() => setOwner(client, 8192, { kind: 'node', id: 'n2' }));
      expect(done.version).toBe(3);
      await view.waitFor((v) => v.tryCurrent()?.version === 3, 20_000);
      expect(view.nodeFor(9000)).toBe('n2');
      expect(view.nodeFor(100)).toBe('n1');
      expect(view.status()).toMatchObject({ connected: true, lastError: null });
      expect(view.status().counters.watchErrors).toBeGreaterThanOrEqual(1);
    } finally {
      await view.close();
    }
  }, 120_000);

  it('a view cannot open while etcd is down: CLUSTER_UNAVAILABLE after its open timeout', async () => {
    await etcd.stopFor(0, async () => {
      const fresh = connectEtcd(etcd.urls, { callTimeoutMs: 500 });
      try {
        const err = await rejection(TableView.open(fresh, { openTimeoutMs: 1500, retryMs: 200 }));
        expect(err.code).toBe('CLUSTER_UNAVAILABLE');
      } finally {
        fresh.close();
      }
    });
  }, 120_000);

  it('a node whose lease was lost while etcd was down registers again when it returns', async () => {
    const states: string[] = [];
    const reg = await NodeRegistration.register(client, {
      id: 'r1',
      address: { host: '127.0.0.1', port: 1 },
      capacity: { devices: 1, bytes: 1 },
      load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }),
      ttlSeconds: 2,
      onStateChange: (state) => states.push(state),
    });
    try {
      const firstLease = reg.currentLeaseId;
      expect(firstLease).not.toBeNull();
      // Down for longer than twice the TTL: the client gives the lease up.
      await etcd.stopFor(6);
      const deadline = Date.now() + 30_000;
      while (reg.status().reRegistrations === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(states).toEqual(['lost', 'registered']);
      expect(reg.status()).toMatchObject({ registered: true, reRegistrations: 1 });
      expect(reg.currentLeaseId).not.toBe(firstLease);
      const kv = (await client.get(liveKey('r1')).exec()).kvs[0];
      expect(kv?.lease).toBe(reg.currentLeaseId);
      expect((await listLiveNodes(client)).nodes.map((n) => n.id)).toContain('r1');
    } finally {
      await reg.stop();
    }
  }, 120_000);
});
