/**
 * The dead-letter store's bounds (src/gateway/dead-letters.ts): beyond `maxCount`
 * letters or `maxBytes` (payload + 256 bytes per entry), the oldest are dropped first,
 * counted in the page totals and in `lmj_deadletters_dropped_total`, and the count
 * survives a reopen. Real ingest pipeline over real LMDB files.
 */
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { DeadLetterStore } from '../../../src/gateway/dead-letters.js';
import { createIngestor, type Ingestor } from '../../../src/gateway/ingest/index.js';
import { GatewayMetrics } from '../../../src/gateway/metrics.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

async function setup(dataDir: string, deadLetters: { maxCount?: number; maxBytes?: number }): Promise<{ ing: Ingestor; metrics: GatewayMetrics }> {
  const metrics = new GatewayMetrics(getCodec().kind);
  const ing = await createIngestor({ dataDir, durability: 'fast', deadLetters, hooks: metrics.ingestHooks() });
  return { ing, metrics };
}

async function droppedMetric(metrics: GatewayMetrics): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('lmj_deadletters_dropped_total');
  const line = text.split('\n').find((l) => l.startsWith('lmj_deadletters_dropped_total '));
  expect(line, text).toBeDefined();
  return Number(line!.split(' ')[1]);
}

/** Submits `n` bad JSON payloads `{bad <i>` one at a time (each is one dead-letter commit). */
async function reject(ing: Ingestor, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const r = await ing.submit({ topic: 'devices/dl-1/telemetry', payload: Buffer.from(`{bad ${i}`), qos: 1 });
    expect(r).toMatchObject({ status: 'rejected', code: 'BAD_JSON' });
  }
}

const payloads = (page: { deadLetters: { payload: Buffer }[] }): string[] => page.deadLetters.map((d) => d.payload.toString());

describe('dead-letter bounds', () => {
  it('keeps the newest maxCount letters, drops the oldest first and counts them', async () => {
    const dir = tmpDir();
    const { ing, metrics } = await setup(dir, { maxCount: 5 });
    await reject(ing, 0, 8);
    const page = await ing.deadLetters({ limit: 100 });
    // Newest first: 7..3 kept, 0..2 dropped.
    expect(payloads(page)).toEqual(['{bad 7', '{bad 6', '{bad 5', '{bad 4', '{bad 3']);
    expect({ total: page.total, dropped: page.dropped }).toEqual({ total: 5, dropped: 3 });
    expect(await droppedMetric(metrics)).toBe(3);
    expect(ing.stats().deadLettersDropped).toBe(3);
    await ing.close();

    // The totals are durable: a reopened store continues from them.
    const again = await setup(dir, { maxCount: 5 });
    onTestFinished(() => again.ing.close());
    expect(await again.ing.deadLetters({ limit: 100 })).toMatchObject({ total: 5, dropped: 3 });
    await reject(again.ing, 8, 2);
    const after = await again.ing.deadLetters({ limit: 100 });
    expect(payloads(after)).toEqual(['{bad 9', '{bad 8', '{bad 7', '{bad 6', '{bad 5']);
    expect(after.dropped).toBe(5);
    expect(await droppedMetric(again.metrics)).toBe(2);
  });

  it('keeps the byte budget (payload + 256 per entry), dropping the oldest first', async () => {
    const dir = tmpDir();
    // Each letter "{bad N" is 6 bytes + 256 overhead = 262: three fit in 800, four do not.
    const { ing, metrics } = await setup(dir, { maxBytes: 800 });
    onTestFinished(() => ing.close());
    await reject(ing, 0, 6);
    const page = await ing.deadLetters({ limit: 100 });
    expect(payloads(page)).toEqual(['{bad 5', '{bad 4', '{bad 3']);
    expect({ total: page.total, dropped: page.dropped }).toEqual({ total: 3, dropped: 3 });
    expect(await droppedMetric(metrics)).toBe(3);
  });

  it('drops several old letters in one commit when one batch overshoots', async () => {
    const store = new DeadLetterStore(join(tmpDir(), 'dl'), { maxCount: 3 });
    onTestFinished(() => store.close());
    const letter = (i: number) => ({ at: i, topic: 't', code: 'BAD_JSON' as const, message: 'm', qos: 1 as const, payload: Buffer.from(String(i)) });
    expect(await store.add([0, 1, 2].map(letter))).toBe(0);
    expect(await store.add([3, 4, 5, 6].map(letter))).toBe(4);
    const page = store.list({ limit: 10 });
    expect(page.deadLetters.map((d) => d.payload.toString())).toEqual(['6', '5', '4']);
    expect(page).toMatchObject({ total: 3, dropped: 4 });
  });
});
