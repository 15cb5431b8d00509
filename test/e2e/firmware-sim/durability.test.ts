/**
 * The durability check end to end: a simulated fleet publishes QoS 1 readings with a
 * ledger, the gateway is SIGKILLed mid-run and restarted on the same data directory and
 * port, the fleet reconnects and finishes, and `verify` finds every acknowledged reading
 * stored exactly once — on the data directory and over HTTP.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulation, type SimSummary } from '../../../firmware-sim/sim.js';
import { verifyLedger, type VerifyResult } from '../../../firmware-sim/verify.js';
import { dataDirReadingSource } from '../../../firmware-sim/verify-data-dir.js';
import { httpReadingSource } from '../../../firmware-sim/verify-http.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

function fleet(broker: string, ledger: string): Simulation {
  return new Simulation({
    broker,
    devices: 8,
    rate: 200,
    // 800 readings (4 s at 200/s), then the buffer is sent: the duration is a hard
    // deadline for sending, so it is set far beyond the run, whose end the count decides
    // (a restart that takes long under load must not leave readings unsent).
    count: 800,
    durationS: 120,
    qos: 1,
    ledger,
    seed: 42,
    backoffMinMs: 50,
    backoffMaxMs: 300,
    drainTimeoutMs: 20_000,
    // Progress events carry the ack count the tests wait on before the SIGKILL.
    progressMs: 20,
  });
}

/** Acks the fleet must have before the SIGKILL, so the kill lands mid-run on acked data. */
const ACKED_BEFORE_KILL = 200;

/** Resolves with the fleet's ack count once it reached `n`. */
function acked(sim: Simulation, n: number): Promise<number> {
  return new Promise((resolve) => {
    const onProgress = (p: { acked: number }): void => {
      if (p.acked < n) return;
      sim.off('progress', onProgress);
      resolve(p.acked);
    };
    sim.on('progress', onProgress);
  });
}

/** Resolves once the daemon has stored at least `n` readings (HTTP, polled: the daemon gives no events). */
async function storedAtLeast(httpUrl: string, n: number): Promise<number> {
  for (;;) {
    const res = await fetch(`${httpUrl}/devices?limit=1000`);
    const body = (await res.json()) as { devices: { readings: number }[] };
    const total = body.devices.reduce((sum, d) => sum + d.readings, 0);
    if (total >= n) return total;
    await sleep(20);
  }
}

function expectAllAcked(s: SimSummary): void {
  expect(s.published).toBeGreaterThan(400);
  expect(s.dropped).toBe(0);
  expect(s.unacked).toBe(0);
  expect(s.acked).toBe(s.published);
  expect(s.ledger?.lines).toBe(s.acked);
}

function expectExactlyOnce(v: VerifyResult, s: SimSummary): void {
  expect({ missing: v.missing, duplicate: v.duplicate, conflicts: v.conflicts, badLedgerLines: v.badLedgerLines }).toEqual({
    missing: 0,
    duplicate: 0,
    conflicts: 0,
    badLedgerLines: 0,
  });
  expect(v.checked).toBe(s.acked);
  expect(v.ok).toBe(true);
}

/** Resolves once `n` devices have connected (a fresh gateway takes a moment for its first CONNACK). */
function connected(sim: Simulation, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    sim.on('connect', () => {
      if (++seen === n) resolve();
    });
  });
}

async function daemon(opts: Parameters<typeof startDaemon>[0]): Promise<DaemonProcess> {
  const d = await startDaemon(opts);
  cleanup.push(() => d.kill('SIGKILL'));
  return d;
}

describe('durability: SIGKILL the gateway mid-run, restart, verify', () => {
  it('embedded broker: every PUBACKed reading is stored exactly once', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const ledger = join(dir, 'ledger.jsonl');
    const d1 = await daemon({ dataDir: data });
    const sim = fleet(d1.mqttUrl!, ledger);
    const run = sim.run();
    await connected(sim, 8);
    const ackedBeforeKill = await acked(sim, ACKED_BEFORE_KILL);
    await d1.kill('SIGKILL');
    const d2 = await daemon({ dataDir: data, mqttPort: d1.mqttPort!, httpPort: d1.httpPort });
    const s = await run;
    expectAllAcked(s);
    expect(s.reconnects).toBeGreaterThanOrEqual(8);
    // The kill came mid-run: acks before it and publishes after it.
    expect(ackedBeforeKill).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);
    expect(s.acked).toBeGreaterThan(ackedBeforeKill);

    // Through the daemon first: its reads wait for every acked message to be applied (with
    // the journal, acks can run ahead of the device stores), so the stores are complete after.
    expectExactlyOnce(await verifyLedger(ledger, httpReadingSource(d2.httpUrl)), s);
    expectExactlyOnce(await verifyLedger(ledger, dataDirReadingSource(data)), s);
  }, 180_000);

  it('external mosquitto: every reading mosquitto acknowledged reaches the store exactly once', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const ledger = join(dir, 'ledger.jsonl');
    const mq: Mosquitto = await startMosquitto(join(dir, 'mosquitto'));
    cleanup.push(() => mq.stop());
    const d1 = await daemon({ dataDir: data, broker: mq.url });
    const sim = fleet(mq.url, ledger);
    const run = sim.run();
    // The gateway acks mosquitto only after its commit: wait until it has stored some.
    const storedBeforeKill = await storedAtLeast(d1.httpUrl, ACKED_BEFORE_KILL);
    await d1.kill('SIGKILL');
    const d2 = await daemon({ dataDir: data, broker: mq.url, httpPort: d1.httpPort });
    const s = await run;
    expectAllAcked(s);
    expect(storedBeforeKill).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);
    expect(s.acked).toBeGreaterThan(storedBeforeKill);
    // The broker never went away, so the devices kept their connections.
    expect(s.reconnects).toBe(0);
    // The gateway catches up on its persistent session's backlog; poll until it has.
    let v = await verifyLedger(ledger, httpReadingSource(d2.httpUrl));
    for (let i = 0; i < 100 && v.missing > 0 && v.duplicate === 0; i++) {
      await sleep(200);
      v = await verifyLedger(ledger, httpReadingSource(d2.httpUrl));
    }
    expectExactlyOnce(v, s);
    expectExactlyOnce(await verifyLedger(ledger, dataDirReadingSource(data)), s);
  }, 180_000);
});
