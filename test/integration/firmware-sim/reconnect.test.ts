import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../../firmware-sim/ledger.js';
import { Simulation, type SimProgress } from '../../../firmware-sim/sim.js';
import { freePortForTest } from './free-port.js';
import { startTestBroker, type TestBroker } from './aedes-broker.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

let brokers: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  brokers = [];
});

/** Resolves on the first progress event for which `cond` holds. */
function progressUntil(sim: Simulation, cond: (p: SimProgress) => boolean): Promise<SimProgress> {
  return new Promise((resolve) => {
    const on = (p: SimProgress): void => {
      if (!cond(p)) return;
      sim.off('progress', on);
      resolve(p);
    };
    sim.on('progress', on);
  });
}

describe('sim across broker outages', () => {
  it('reconnects with growing backoff after a broker restart; the ledger holds only what the broker acked', async () => {
    const b = await startTestBroker();
    brokers.push(b);
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const sim = new Simulation({
      broker: b.url,
      devices: 4,
      rate: 400,
      durationS: 1.6,
      ledger,
      seed: 21,
      boot: 1,
      backoffMinMs: 40,
      backoffMaxMs: 2000,
      drainTimeoutMs: 20_000,
      progressMs: 10,
    });
    const retries = new Map<string, number[]>();
    // The outage lasts until every device has seen three failed attempts (events, not time).
    let outageOver!: () => void;
    const threeEach = new Promise<void>((resolve) => (outageOver = resolve));
    sim.on('disconnect', (d) => {
      retries.set(d.clientId, [...(retries.get(d.clientId) ?? []), d.retryInMs]);
      if (retries.size === 4 && [...retries.values()].every((r) => r.length >= 3)) outageOver();
    });
    const run = sim.run();
    const before = await progressUntil(sim, (p) => p.connected === 4 && p.acked >= 50);
    await b.stop();
    await threeEach;
    const during = b.received.length;
    await b.start();
    const s = await run;
    // The outage came mid-run: acks before it, and the buffer resent after it.
    expect(before.acked).toBeGreaterThanOrEqual(50);
    expect(b.received.length).toBeGreaterThan(during);

    expect(s.reconnects).toBe(4);
    expect(retries.size).toBe(4);
    for (const delays of retries.values()) {
      // Three or more failed attempts, the later ones waiting longer than the first.
      expect(delays.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...delays.slice(1))).toBeGreaterThan(delays[0]!);
      for (const d of delays) expect(d).toBeLessThanOrEqual(2000);
    }
    // Everything generated was eventually acknowledged (buffered while offline, resent after).
    expect(s.dropped).toBe(0);
    expect(s.unacked).toBe(0);
    expect(s.acked).toBe(s.published);
    const { entries } = readLedger(ledger);
    expect(entries).toHaveLength(s.acked);
    const keys = new Set(entries.map((e) => `${e.device}/${e.seq}`));
    expect(keys.size).toBe(entries.length);
    for (const e of entries) expect(b.byId.has(e.id)).toBe(true);
  });

  it('keeps only the newest readings in a full offline buffer, counting the dropped ones', async () => {
    const port = await freePortForTest();
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const sim = new Simulation({
      broker: `mqtt://127.0.0.1:${port}`,
      devices: 1,
      rate: 200,
      count: 100,
      bufferPerDevice: 10,
      ledger,
      seed: 2,
      boot: 1,
      backoffMinMs: 20,
      backoffMaxMs: 50,
      drainTimeoutMs: 5000,
      progressMs: 10,
    });
    const run = sim.run();
    // The broker comes up only after generation ended, so only the buffer survives.
    await progressUntil(sim, (p) => p.published === 100);
    const b = await startTestBroker(port);
    brokers.push(b);
    const s = await run;
    expect(s.published).toBe(100);
    expect(s.acked).toBe(10);
    expect(s.dropped).toBe(s.published - 10);
    expect(s.errors).toBeGreaterThan(0);
    const seqs = readLedger(ledger).entries.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => s.published - 10 + i));
  });
});
