/**
 * The outbox backlog after retention trims a device: it stays the number of unsynced
 * readings whether retention removed synced readings (which once left the count under
 * the truth, down to 0 with readings unsent) or, where the policy allows it, unsynced
 * ones. Real ingest pipeline, real RetentionRunner on the same pool, the outbox as the
 * sync service drives it (export, confirm, settle).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { IngestResult } from '../../../src/gateway/ingest/index.js';
import { RetentionRunner } from '../../../src/gateway/retention/runner.js';
import { Outbox } from '../../../src/sync/outbox.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { ingestor } from './helpers.js';

type Stored = Extract<IngestResult, { status: 'stored' }>;
/** Far enough ahead that every stored reading is older than any max age below. */
const LATER = Date.now() + 3_600_000;

async function setup(dropUnsynced: boolean) {
  const dir = tmpDir();
  const ing = await ingestor(dir);
  let outbox = new Outbox({ dataDir: dir, durable: false, devices: ing, budgetBytes: 1 << 30, policy: 'backpressure' });
  onTestFinished(async () => {
    await outbox.close();
    await ing.close();
  });
  await outbox.ready();
  /** The runner telling `o` what it removed, or (`o` only as cursors) not: a crash between its commit and the outbox's cursor write. */
  const runner = (o: Outbox | { syncedThrough(id: string): Buffer | undefined }) =>
    new RetentionRunner({
      pool: ing.pool,
      settings: { defaults: { maxAgeMs: 1000, maxBytes: undefined, dropUnsynced }, devices: new Map(), intervalMs: 0, batchReadings: 25, dutyPercent: 100 },
      listDevices: () => ['rt-1'],
      sync: o,
    });
  const store = async (from: number, n: number): Promise<void> => {
    const rs = await Promise.all(
      Array.from({ length: n }, (_, i) => ing.submit({ topic: 'devices/rt-1/telemetry', payload: Buffer.from(JSON.stringify({ seq: from + i })), qos: 1 })),
    );
    for (const r of rs) expect(r.status).toBe('stored');
    for (const r of rs as Stored[]) outbox.onStored(r.deviceId, r.ts, r.readings);
  };
  /** Uploads `n` readings as the uplink does: export, the router's confirm of the last, settle. */
  const sync = async (n: number): Promise<void> => {
    const exp = await outbox.exportFor('rt-1', n, 1 << 20);
    expect(exp?.records).toHaveLength(n);
    if (exp === undefined) return;
    const last = exp.records[n - 1];
    if (last === undefined) throw new Error('empty export');
    expect((await outbox.confirm([{ exp, element: last.element }])).synced).toBe(n);
    outbox.settle([exp]);
  };
  /** A fresh outbox on the same state (clean stop), counting from the instance. */
  const reopen = async (): Promise<Outbox> => {
    await outbox.close();
    outbox = new Outbox({ dataDir: dir, durable: false, devices: ing, budgetBytes: 1 << 30, policy: 'backpressure' });
    await outbox.ready();
    return outbox;
  };
  return { outbox: () => outbox, runner, store, sync, reopen };
}

describe('outbox backlog after retention', () => {
  it('stays the number of unsynced readings when retention expires synced ones', { timeout: 30_000 }, async () => {
    const t = await setup(false);
    await t.store(0, 100);
    await t.sync(60);
    expect(t.outbox().backlog().readings).toBe(40);

    const [r] = await t.runner(t.outbox()).run(undefined, LATER);
    // Unsynced readings are protected: exactly the 60 synced ones go.
    expect(r).toMatchObject({ expired: 60, unsyncedDropped: 0 });
    expect(t.outbox().backlog().readings).toBe(40);

    // A recount from the instance (the next export) agrees, and so does a restarted outbox.
    const exp = await t.outbox().exportFor('rt-1', 1000, 1 << 20);
    expect(exp?.records).toHaveLength(40);
    t.outbox().settle(exp === undefined ? [] : [exp]);
    expect(t.outbox().backlog().readings).toBe(40);
    const again = await t.reopen();
    await t.store(100, 5);
    expect(again.backlog()).toMatchObject({ readings: 45, devices: 1 });

    // Everything drains to exactly 0, with nothing left to export.
    await t.sync(45);
    expect(again.backlog().readings).toBe(0);
    expect(await again.exportFor('rt-1', 1000, 1 << 20)).toBeUndefined();
  });

  it('never counts 0 while readings follow the cursor, and heals once drained, when the correction was lost', { timeout: 30_000 }, async () => {
    const t = await setup(false);
    await t.store(0, 100);
    await t.sync(60);
    const o = t.outbox();
    // Retention commits, the outbox never hears of it (the process died in between).
    const [r] = await t.runner({ syncedThrough: (id) => o.syncedThrough(id) }).run(undefined, LATER);
    expect(r).toMatchObject({ expired: 60, unsyncedDropped: 0 });
    const again = await t.reopen();
    // Count 40 minus a stale `passed` of 60: still a device with something to send.
    expect(again.backlog()).toMatchObject({ devices: 1 });
    expect(again.backlog().readings).toBeGreaterThanOrEqual(1);
    await t.sync(40);
    // Drained: the recount that finds nothing after the cursor resets `passed`, new readings count exactly.
    expect(await again.exportFor('rt-1', 1000, 1 << 20)).toBeUndefined();
    await t.store(100, 7);
    expect(again.backlog().readings).toBe(7);
  });

  it('follows retention that drops unsynced readings where the policy allows it', { timeout: 30_000 }, async () => {
    const t = await setup(true);
    await t.store(0, 100);
    await t.sync(30);
    const [r] = await t.runner(t.outbox()).run(undefined, LATER);
    expect(r).toMatchObject({ expired: 100, unsyncedDropped: 70 });
    expect(t.outbox().backlog().readings).toBe(0);

    // New readings after the trim are the whole backlog, also after a restart.
    await t.store(100, 12);
    expect(t.outbox().backlog().readings).toBe(12);
    const again = await t.reopen();
    expect(again.backlog().readings).toBe(12);
    const exp = await again.exportFor('rt-1', 1000, 1 << 20);
    expect(exp?.records).toHaveLength(12);
    again.settle(exp === undefined ? [] : [exp]);
  });
});
