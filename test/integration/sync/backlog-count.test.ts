/**
 * The outbox's backlog count when a recount from the instance sees a commit before its
 * readings are announced (`onStored`): what happens while the uplink retries against a
 * router that is down and ingest keeps committing, made deterministic here by
 * announcing the stored results only after the recount. Real ingest pipeline and
 * instances; the outbox as the sync service drives it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { IngestResult } from '../../../src/gateway/ingest/index.js';
import { Outbox } from '../../../src/sync/outbox.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { ingestor } from './helpers.js';

type Stored = Extract<IngestResult, { status: 'stored' }>;

async function setup() {
  const dir = tmpDir();
  const ing = await ingestor(dir);
  const outbox = new Outbox({ dataDir: dir, durable: false, devices: ing, budgetBytes: 1 << 30, policy: 'backpressure' });
  onTestFinished(async () => {
    await outbox.close();
    await ing.close();
  });
  await outbox.ready();
  const store = async (device: string, from: number, n: number): Promise<Stored[]> => {
    const rs = await Promise.all(
      Array.from({ length: n }, (_, i) => ing.submit({ topic: `devices/${device}/telemetry`, payload: Buffer.from(JSON.stringify({ seq: from + i })), qos: 1 })),
    );
    for (const r of rs) expect(r.status).toBe('stored');
    return rs as Stored[];
  };
  return { outbox, store };
}

describe('outbox backlog count', () => {
  it('counts readings a recount saw before their announcement once, not twice', async () => {
    const { outbox, store } = await setup();
    const first = await store('bk-1', 0, 50);
    for (const r of first) outbox.onStored(r.deviceId, r.ts, r.readings);
    expect(outbox.backlog().readings).toBe(50);

    // 100 more committed; the uplink's export recounts the device before they are announced.
    const late = await store('bk-1', 50, 100);
    const exp = await outbox.exportFor('bk-1', 10, 1 << 20);
    expect(exp?.records).toHaveLength(10);
    outbox.settle(exp === undefined ? [] : [exp]);
    expect(outbox.backlog().readings).toBe(150);
    for (const r of late) outbox.onStored(r.deviceId, r.ts, r.readings);
    expect(outbox.backlog().readings).toBe(150);
  });

  it('ends exact when an older commit is announced after a recount that saw a newer one', async () => {
    const { outbox, store } = await setup();
    const a = await store('bk-2', 0, 30);
    for (const r of a) outbox.onStored(r.deviceId, r.ts, r.readings);
    const b = await store('bk-2', 30, 30);
    const c = await store('bk-2', 60, 30);
    const exp = await outbox.exportFor('bk-2', 5, 1 << 20);
    outbox.settle(exp === undefined ? [] : [exp]);
    expect(outbox.backlog().readings).toBe(90);
    // b's announcements arrive late, then c's: the count never ends above or below the truth.
    for (const r of [...b, ...c]) outbox.onStored(r.deviceId, r.ts, r.readings);
    expect(outbox.backlog().readings).toBe(90);
  });
});
