/**
 * Gateway → router over real loopback HTTP, in one process: a real ingest pipeline,
 * the sync service (outbox + uplink) and a real router. Readings arrive byte for
 * byte, in order, exactly once — also across a router outage, a gateway restart and
 * with the outbox budget reached under both policies.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import type { Router } from '../../../src/router/index.js';
import { startSync, type SyncOptions, type SyncService } from '../../../src/sync/index.js';
import { freePort } from '../../helpers/free-port.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, gatewayRecords, ingestor, publish, router, sameRecords } from './helpers.js';
import { exportRecords } from '../../../src/core/telemetry/records.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Every cleanup runs; a failing close() fails the test after the others ran.
  const failures: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => failures.push(err));
  expect(failures).toEqual([]);
});

interface Gateway {
  ing: Ingestor;
  sync: SyncService;
  /** Submits through the back-pressure gate, like the daemon's MQTT front ends. */
  submitGated(deviceId: string, seq: number): Promise<string>;
  stop(): Promise<void>;
}

async function gateway(dir: string, port: number, options: Partial<SyncOptions> = {}): Promise<Gateway> {
  let sync: SyncService | undefined;
  const ing = await ingestor(dir, { result: (r) => r.status === 'stored' && sync?.onStored(r.deviceId, r.ts) });
  sync = startSync(
    { dataDir: dir, durable: false, devices: ing },
    { upstream: `http://127.0.0.1:${port}`, token: TOKEN, gatewayId: 'gw-1', backoffMs: 20, maxBackoffMs: 200, batchDelayMs: 5, ...options },
  );
  const s = sync;
  let stopped = false;
  const gw: Gateway = {
    ing,
    sync: s,
    async submitGated(deviceId, seq) {
      await s.admit();
      const r = await ing.submit({ topic: `devices/${deviceId}/telemetry`, payload: Buffer.from(JSON.stringify({ seq, temp: 21.5 })), qos: 1 });
      return r.status;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      s.releaseGate();
      await s.close();
      await ing.close();
    },
  };
  cleanups.push(() => gw.stop());
  return gw;
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 20_000, state?: () => unknown): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${state === undefined ? '' : `: ${JSON.stringify(state())}`}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function routerRecords(r: Router, id: string) {
  return r.nodes.nodeOf(id).pool.use(id, (s) => s.read((txn) => exportRecords(txn, undefined, 1_000_000)));
}

async function startRouterAt(dir: string, port: number): Promise<Router> {
  const { startRouter } = await import('../../../src/router/index.js');
  const { tokensFile, silent } = await import('./helpers.js');
  const r = await startRouter({ dataDir: dir, httpPort: port, tokensFile: tokensFile(dir), nodes: 2, durability: 'fast', log: silent });
  cleanups.push(() => r.stop());
  return r;
}

const DEVICES = ['sensor-a', 'sensor-b', 'sensor-c'];

async function expectSynced(gw: Gateway, r: Router, ids = DEVICES): Promise<void> {
  for (const id of ids) {
    const mine = await gatewayRecords(gw.ing, id);
    expect(sameRecords(await routerRecords(r, id), mine), id).toBeUndefined();
  }
}

describe('uplink', () => {
  it('readings committed on the gateway appear on the router byte for byte, and status says so', async () => {
    const dir = tmpDir('lmj-sync-');
    const r = await router(join(dir, 'router'));
    cleanups.push(() => r.stop());
    const gw = await gateway(join(dir, 'gw'), r.http.port);
    for (const id of DEVICES) await publish(gw.ing, id, 0, 40);
    await waitFor('backlog drained', () => gw.sync.status().counters.readingsSynced === 120 && gw.sync.status().backlog.readings === 0);
    await expectSynced(gw, r);
    const s = gw.sync.status();
    expect(s.lastSuccessAt).not.toBeNull();
    expect(s.oldestUnsyncedTs).toBeNull();
    expect(s.counters.readingsDuplicate).toBe(0);
  });

  it('router down for a while, then back: nothing lost, nothing twice, order kept', async () => {
    const dir = tmpDir('lmj-sync-');
    const port = await freePort();
    const gw = await gateway(join(dir, 'gw'), port);
    for (const id of DEVICES) await publish(gw.ing, id, 0, 30);
    await waitFor('a failed upload', () => gw.sync.status().counters.batchFailures > 0);
    await waitFor('backlog counted', () => gw.sync.status().backlog.readings === 90);
    const down = gw.sync.status();
    expect(down.lastError?.code).toBe('UPSTREAM_FAILED');
    expect(down.oldestUnsyncedAgeMs).not.toBeNull();
    for (const id of DEVICES) await publish(gw.ing, id, 30, 10);
    const r = await startRouterAt(join(dir, 'router'), port);
    await waitFor('backlog drained', () => gw.sync.status().backlog.readings === 0 && gw.sync.status().counters.readingsSynced === 120);
    await expectSynced(gw, r);
    expect(gw.sync.status().counters.readingsDuplicate).toBe(0);
  });

  it('resumes exactly where it stopped after a restart', async () => {
    const dir = tmpDir('lmj-sync-');
    const r = await router(join(dir, 'router'));
    cleanups.push(() => r.stop());
    const gw1 = await gateway(join(dir, 'gw'), r.http.port);
    for (const id of DEVICES) await publish(gw1.ing, id, 0, 25);
    await waitFor('first part synced', () => gw1.sync.status().backlog.readings === 0);
    await gw1.stop();
    // Readings committed while the uplink is off (e.g. upstream disabled) are found on restart.
    const gw2 = await gateway(join(dir, 'gw'), r.http.port);
    for (const id of DEVICES) await publish(gw2.ing, id, 25, 25);
    await waitFor('second part synced', () => gw2.sync.status().counters.readingsSynced === 75 && gw2.sync.status().backlog.readings === 0);
    await expectSynced(gw2, r);
    expect(gw2.sync.status().counters.readingsDuplicate).toBe(0);
  });

  it('budget reached with policy backpressure: ingest waits (counted) until the router drains it', async () => {
    const dir = tmpDir('lmj-sync-');
    const port = await freePort();
    const gw = await gateway(join(dir, 'gw'), port, { budgetBytes: 3000, policy: 'backpressure' });
    const statuses: string[] = [];
    // One publisher, one message at a time, as a QoS 1 client waiting for its PUBACKs.
    const publisher = (async () => {
      for (let i = 0; i < 60; i++) statuses.push(await gw.submitGated('sensor-a', i));
    })();
    await waitFor('backpressure', () => gw.sync.status().backpressure && gw.sync.waiting() > 0, 20_000, () => ({
      status: gw.sync.status(),
      waiting: gw.sync.waiting(),
      published: statuses.length,
    }));
    const s = gw.sync.status();
    expect(s.counters.backpressureWaits).toBeGreaterThan(0);
    const stored = (await gw.ing.readings('sensor-a', { limit: 1000 })).readings.length;
    expect(stored).toBeLessThan(60);
    const r = await startRouterAt(join(dir, 'router'), port);
    await publisher;
    expect(statuses).toEqual(Array.from({ length: 60 }, () => 'stored'));
    await waitFor('drained', () => gw.sync.status().backlog.readings === 0);
    await expectSynced(gw, r, ['sensor-a']);
    expect((await gatewayRecords(gw.ing, 'sensor-a')).length).toBe(60);
    expect(gw.sync.status().counters.readingsDropped).toBe(0);
  });

  it('budget reached with policy drop-oldest: the oldest unsynced readings are skipped (counted), the newest arrive in order', async () => {
    const dir = tmpDir('lmj-sync-');
    const port = await freePort();
    const gw = await gateway(join(dir, 'gw'), port, { budgetBytes: 3000, policy: 'drop-oldest' });
    for (let i = 0; i < 120; i++) expect(await gw.submitGated('sensor-a', i)).toBe('stored');
    // A failed upload hands its readings back and starts a round: wait until one has run to its end.
    await waitFor('drops', () => gw.sync.status().counters.readingsDropped > 0 && !gw.sync.status().dropping);
    const dropped = gw.sync.status().counters.readingsDropped;
    const r = await startRouterAt(join(dir, 'router'), port);
    // Exact: every reading passed is either synced or dropped (the backlog count alone is an estimate in between).
    const accounted = () => gw.sync.status().counters.readingsSynced + gw.sync.status().counters.readingsDropped;
    await waitFor('every reading synced or dropped', () => accounted() === 120 && gw.sync.status().backlog.readings === 0, 20_000, () => gw.sync.status());
    await gw.sync.dropIdle();
    const all = await gatewayRecords(gw.ing, 'sensor-a');
    expect(all).toHaveLength(120);
    const upstream = await routerRecords(r, 'sensor-a');
    // Exactly the newest readings, in order, byte for byte; the dropped ones stay local.
    expect(upstream.length).toBe(120 - gw.sync.status().counters.readingsDropped);
    expect(gw.sync.status().counters.readingsDropped).toBeGreaterThanOrEqual(dropped);
    expect(sameRecords(upstream, all.slice(all.length - upstream.length))).toBeUndefined();
  });
});
