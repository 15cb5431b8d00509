/** The moves' shared copy budget: concurrent callers together keep to one rate; 0 is unthrottled. */
import { describe, expect, it } from 'vitest';
import { ByteThrottle } from '../../../../src/router/cluster/move-throttle.js';

describe('ByteThrottle', () => {
  it('two concurrent movers share one budget: 80 kB at 100 kB/s take at least 0.8 s in total, not 0.4 s', async () => {
    const t = new ByteThrottle(100_000);
    const started = Date.now();
    const mover = async (): Promise<number> => {
      for (let i = 0; i < 4; i++) await t.pace(10_000);
      return Date.now() - started;
    };
    const done = await Promise.all([mover(), mover()]);
    // Each mover alone would be done after 0.4 s; sharing, the last one waits for all 80 kB.
    expect(Math.max(...done)).toBeGreaterThanOrEqual(790);
  });

  it('0 and an empty chunk do not wait', async () => {
    const started = Date.now();
    await new ByteThrottle(0).pace(1e9);
    await new ByteThrottle(1).pace(0);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
