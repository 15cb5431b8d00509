/** The event-loop delay histogram: a loop held by synchronous work shows up as a late timer. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerLoopDelay } from '../../../src/http/loop-delay.js';

type Bucket = { labels: { le?: number | string }; value: number; metricName?: string };

async function buckets(registry: Registry): Promise<Bucket[]> {
  const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Bucket[] }>;
  const h = json.find((m) => m.name === 'lmj_event_loop_delay_seconds');
  expect(h).toBeDefined();
  return h!.values.filter((v) => v.metricName === 'lmj_event_loop_delay_seconds_bucket');
}

describe('event-loop delay histogram', () => {
  it('records a 150 ms synchronous block as a sample past the 100 ms bucket', async () => {
    const registry = new Registry();
    registerLoopDelay(registry);
    await new Promise((r) => setTimeout(r, 30));
    const countPast = async (le: number): Promise<number> => {
      const bs = await buckets(registry);
      const total = bs.find((b) => b.labels.le === '+Inf')!.value;
      return total - bs.find((b) => b.labels.le === le)!.value;
    };
    // A loaded machine may have stalled this process already: count from here.
    const before = await countPast(0.1);
    const until = performance.now() + 150;
    while (performance.now() < until) {
      // Busy: the timer cannot fire.
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(await countPast(0.1)).toBeGreaterThan(before);
  });
});
