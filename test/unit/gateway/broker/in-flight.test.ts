import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../../src/gateway/broker/in-flight.js';

describe('InFlight', () => {
  it('counts tracked promises until they settle, either way, and wakes idle waiters at zero', async () => {
    const f = new InFlight();
    await f.idle();
    let ok!: (v: number) => void;
    let fail!: (e: Error) => void;
    const a = f.track(new Promise<number>((r) => (ok = r)));
    const b = f.track(new Promise<number>((_, r) => (fail = r)));
    b.catch(() => undefined);
    expect(f.count).toBe(2);
    let idle = false;
    const waiting = f.idle().then(() => (idle = true));
    ok(1);
    expect(await a).toBe(1);
    expect([f.count, idle]).toEqual([1, false]);
    fail(new Error('x'));
    await waiting;
    expect([f.count, idle]).toEqual([0, true]);
  });
});
