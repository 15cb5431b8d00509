import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../../firmware-sim/ledger.js';
import { Simulation } from '../../../firmware-sim/sim.js';
import { freePortForTest } from './free-port.js';
import { startTestBroker, type TestBroker } from './aedes-broker.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

let brokers: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  brokers = [];
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
    });
    const retries = new Map<string, number[]>();
    sim.on('disconnect', (d) => retries.set(d.clientId, [...(retries.get(d.clientId) ?? []), d.retryInMs]));
    const run = sim.run();
    await sleep(500);
    await b.stop();
    await sleep(700);
    await b.start();
    const s = await run;

    expect(s.reconnects).toBe(4);
    expect(retries.size).toBe(4);
    for (const delays of retries.values()) {
      // At least three failed attempts during a 700 ms outage, each waiting longer than the first.
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
      durationS: 0.5,
      bufferPerDevice: 10,
      ledger,
      seed: 2,
      boot: 1,
      backoffMinMs: 20,
      backoffMaxMs: 50,
      drainTimeoutMs: 5000,
    });
    const run = sim.run();
    // The broker comes up only after generation ended, so only the buffer survives.
    await sleep(800);
    const b = await startTestBroker(port);
    brokers.push(b);
    const s = await run;
    expect(s.published).toBeGreaterThan(50);
    expect(s.acked).toBe(10);
    expect(s.dropped).toBe(s.published - 10);
    expect(s.errors).toBeGreaterThan(0);
    const seqs = readLedger(ledger).entries.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => s.published - 10 + i));
  });
});
