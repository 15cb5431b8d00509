import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { afterEach, describe, expect, it } from 'vitest';
import { payloadIdentity } from '../../../firmware-sim/identity.js';
import { readLedger } from '../../../firmware-sim/ledger.js';
import { Simulation, runSim } from '../../../firmware-sim/sim.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { startTestBroker, type TestBroker } from './aedes-broker.js';

let brokers: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
  brokers = [];
});
async function broker(port = 0): Promise<TestBroker> {
  const b = await startTestBroker(port);
  brokers.push(b);
  return b;
}

describe('sim against a real aedes broker', () => {
  it('publishes the requested count, acks QoS 1, ledgers exactly the acked good readings', async () => {
    const b = await broker();
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const s = await runSim({ broker: b.url, devices: 5, rate: 1000, count: 300, qos: 1, bad: 0.2, ledger, seed: 11, boot: 7 });
    expect(s.published + s.bad.published).toBe(300);
    expect(s.bad.published).toBeGreaterThan(30);
    expect(s.acked).toBe(s.published);
    expect(s.bad.acked).toBe(s.bad.published);
    expect(s.unacked).toBe(0);
    expect(s.connections).toBe(5);
    expect(s.connectionMode).toBe('per-device');
    expect(s.latencyMs.count).toBe(s.acked);
    expect(b.received).toHaveLength(300);
    expect(b.clientIds.size).toBe(5);

    const { entries, badLines } = readLedger(ledger);
    expect(badLines).toBe(0);
    expect(entries).toHaveLength(s.acked);
    expect(s.ledger).toEqual({ file: ledger, lines: s.acked });
    const perDevice = new Map<string, number[]>();
    for (const e of entries) {
      // Every ledger line is a good reading the broker received on that device's topic.
      const got = b.byId.get(e.id);
      expect(got).toHaveLength(1);
      expect(got![0]!.topic).toBe(`devices/${e.device}/telemetry`);
      expect(JSON.parse(got![0]!.payload.toString())).toMatchObject({ dev: e.device, seq: e.seq, boot: 7 });
      perDevice.set(e.device, [...(perDevice.get(e.device) ?? []), e.seq]);
    }
    expect(perDevice.size).toBe(5);
    for (const seqs of perDevice.values()) expect([...seqs].sort((x, y) => x - y)).toEqual(seqs.map((_, i) => i));
    // Bad publications reached the broker but never the ledger.
    const ledgered = new Set(entries.map((e) => e.id));
    // (Some bad payloads are byte-identical, e.g. every too-deep one: count messages, not ids.)
    const bad = b.received.filter((r) => !ledgered.has(payloadIdentity(r.payload).toString('hex')));
    expect(bad).toHaveLength(s.bad.published);
  });

  it('pools devices over few connections; QoS 0 CBOR has no ledger lines', async () => {
    const b = await broker();
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const s = await runSim({
      broker: b.url,
      devices: 50,
      maxConnections: 5,
      rate: 2000,
      count: 200,
      qos: 0,
      format: 'cbor',
      profile: 'power',
      ledger,
      seed: 3,
    });
    expect(s.connectionMode).toBe('pool');
    expect(s.connections).toBe(5);
    expect(b.clientIds.size).toBe(5);
    expect(s.acked).toBe(200);
    expect(b.received).toHaveLength(200);
    expect(new Set(b.received.map((r) => r.topic)).size).toBe(50);
    for (const r of b.received) {
      expect(r.qos).toBe(0);
      expect(decode(r.payload)).toMatchObject({ phases: expect.any(Array), meter: expect.any(Object) });
    }
    expect(readFileSync(ledger, 'utf8')).toBe('');
    expect(s.latencyMs.count).toBe(0);
  });

  it('reboots restart seq and increment boot', async () => {
    const b = await broker();
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const reboots: string[] = [];
    const sim = new Simulation({ broker: b.url, devices: 2, rate: 2000, count: 400, rebootProbability: 0.05, ledger, seed: 5, boot: 100 });
    sim.on('reboot', (r) => reboots.push(r.device));
    const s = await sim.run();
    expect(s.reboots).toBeGreaterThan(3);
    expect(reboots).toHaveLength(s.reboots);
    const byBoot = new Map<string, number[]>();
    for (const e of readLedger(ledger).entries) byBoot.set(`${e.device}/${e.boot}`, [...(byBoot.get(`${e.device}/${e.boot}`) ?? []), e.seq]);
    expect(byBoot.size).toBe(2 + s.reboots);
    for (const [k, seqs] of byBoot) {
      expect(Number(k.split('/')[1])).toBeGreaterThanOrEqual(100);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs.map((_, i) => i));
    }
  });

  it('unlimited rate keeps the in-flight window full and stops at the count', async () => {
    const b = await broker();
    const s = await runSim({ broker: b.url, devices: 4, rate: 0, count: 2000, inflight: 8, seed: 9 });
    expect(s.rate.target).toBe('unlimited');
    expect(s.published).toBe(2000);
    expect(s.acked).toBe(2000);
    expect(b.received).toHaveLength(2000);
  });

  it('10,000 devices multiplexed over a small pool, each publishing under its own topic', async () => {
    const b = await broker();
    const s = await runSim({ broker: b.url, devices: 10_000, maxConnections: 20, rate: 10_000, count: 10_000, inflight: 64, seed: 8 });
    expect(s).toMatchObject({ connectionMode: 'pool', connections: 20, published: 10_000, acked: 10_000 });
    expect(b.clientIds.size).toBe(20);
    expect(new Set(b.received.map((r) => r.topic)).size).toBe(10_000);
    expect(b.received.map((r) => r.topic)).toContain('devices/sim-9999/telemetry');
  });

  it('device clocks are skewed by a fixed per-device offset within ±skew', async () => {
    const b = await broker();
    const before = Date.now();
    await runSim({ broker: b.url, devices: 20, rate: 1000, count: 200, skewMs: 60_000, seed: 12 });
    const after = Date.now();
    const offsets = new Map<string, number[]>();
    for (const r of b.received) {
      const doc = JSON.parse(r.payload.toString()) as { dev: string; ts: number };
      expect(doc.ts).toBeGreaterThanOrEqual(before - 60_000);
      expect(doc.ts).toBeLessThanOrEqual(after + 60_000);
      offsets.set(doc.dev, [...(offsets.get(doc.dev) ?? []), doc.ts]);
    }
    // Devices disagree by far more than the run lasted: the skew is per device.
    const firsts = [...offsets.values()].map((ts) => ts[0]!);
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(10_000);
  });

  it('refuses bad options before connecting', () => {
    expect(() => new Simulation({ broker: 'mqtt://127.0.0.1:1', devices: -1 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
