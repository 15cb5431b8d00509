/**
 * Drop-oldest vs. an export in flight, step by step on a real ingest pipeline and a real
 * outbox (no uplink, no timing): a drop round must never count readings dropped that a
 * batch in flight may already have committed upstream.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportRecords } from '../../../src/core/telemetry/records.js';
import { Outbox } from '../../../src/sync/outbox.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { ingestor, publish } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Every cleanup runs; a failing close() fails the test after the others ran.
  const failures: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => failures.push(err));
  expect(failures).toEqual([]);
});

async function setup(budgetBytes: number) {
  const dir = join(tmpDir('lmj-outbox-'), 'gw');
  let outbox: Outbox | undefined;
  const ing = await ingestor(dir, { result: (r) => r.status === 'stored' && outbox?.onStored(r.deviceId, r.ts) });
  outbox = new Outbox({ dataDir: dir, durable: false, devices: ing, budgetBytes, policy: 'drop-oldest' });
  const ob = outbox;
  cleanups.push(async () => {
    await ob.close();
    await ing.close();
  });
  await ob.ready();
  return { ing, outbox: ob };
}

describe('outbox drop-oldest', () => {
  it('never drops readings of an export in flight; once it is confirmed, only later readings are dropped', async () => {
    // 10 readings × ≤ 256 B (initial estimate) stay under the budget; 40 are far over it.
    const { ing, outbox } = await setup(3000);
    await publish(ing, 'sensor-a', 0, 10);
    const exp = await outbox.exportFor('sensor-a', 1000, 1 << 20);
    expect(exp?.records).toHaveLength(10);
    await publish(ing, 'sensor-a', 10, 30);
    await outbox.dropIdle();
    expect(outbox.overBudget()).toBe(true);
    // The only device is in flight: nothing may be dropped now.
    expect(outbox.counters.dropped).toBe(0);

    // The router confirmed all 10: they are synced, and the round that follows drops only later readings.
    const { synced } = await outbox.confirm([{ exp: exp!, element: exp!.records[9]!.element }]);
    expect(synced).toBe(10);
    outbox.settle([exp!]);
    expect(outbox.isDropping()).toBe(true);
    await outbox.dropIdle();
    const dropped = outbox.counters.dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(synced + dropped + outbox.backlog().readings).toBe(40);
    const all = await ing.withDevice('sensor-a', (s) => s.read((txn) => exportRecords(txn, undefined, 1000)));
    const next = await outbox.exportFor('sensor-a', 1000, 1 << 20);
    expect(next!.records[0]!.element.equals(all[10 + dropped]!.element)).toBe(true);
    expect(next!.records).toHaveLength(40 - 10 - dropped);
    outbox.settle([next!]);
  });

  it('a batch that fails gives its readings back to the drop round', async () => {
    const { ing, outbox } = await setup(3000);
    await publish(ing, 'sensor-a', 0, 40);
    await outbox.dropIdle();
    const droppedBefore = outbox.counters.dropped;
    const exp = await outbox.exportFor('sensor-a', 1000, 1 << 20);
    await publish(ing, 'sensor-a', 40, 20);
    await outbox.dropIdle();
    expect(outbox.counters.dropped).toBe(droppedBefore);
    // Unconfirmed (e.g. the router was down): nothing synced, the oldest are droppable again.
    await outbox.confirm([]);
    outbox.settle([exp!]);
    await outbox.dropIdle();
    expect(outbox.counters.dropped).toBeGreaterThan(droppedBefore);
    expect(outbox.counters.dropped + outbox.backlog().readings).toBe(60);
    expect(outbox.backlog().bytes).toBeLessThanOrEqual(3000);
  });
});
