/**
 * A corrupt device instance (data pages overwritten, meta pages intact: a failing SD
 * card) found after a SIGKILL, with the real daemon: at the restart the instances
 * that were open are verified in a child process, the corrupt one is quarantined
 * (its messages dead-lettered with DEVICE_UNAVAILABLE, reads 503 naming the device,
 * /healthz degraded naming it, counted), the other devices keep ingesting, later
 * restarts never map it (no crash loop); `lmj-edge audit` reports it without
 * crashing, and `lmj-edge salvage --swap` brings the device back while the daemon runs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { overwriteAllDataPages } from '../../helpers/corrupt-instance.js';
import { allReadings, getJson, getText, waitFor } from './http-client.js';

const run = promisify(execFile);
const DEVICES = ['good-1', 'bad-1', 'good-2'];
const BAD = 'bad-1';

/** Publishes `count` QoS 1 readings to each device (seq from `from`); resolves when all are acked. */
async function publish(url: string, devices: readonly string[], from: number, count: number): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId: `pub-${from}`, reconnectPeriod: 0, clean: true });
  try {
    const acks: Promise<unknown>[] = [];
    for (let seq = from; seq < from + count; seq++) {
      for (const d of devices) acks.push(c.publishAsync(`devices/${d}/telemetry`, JSON.stringify({ seq, env: { t: seq / 10 } }), { qos: 1 }));
    }
    await Promise.all(acks);
  } finally {
    await c.endAsync();
  }
}

const seqsOf = async (d: DaemonProcess, id: string): Promise<number[]> =>
  (await allReadings(d.httpUrl, id)).map((r) => r.values.seq as number).sort((a, b) => a - b);

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('a corrupt device instance after a SIGKILL', () => {
  let data: string;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'lmj-corrupt-'));
    const first = await startDaemon({ dataDir: data });
    await publish(first.mqttUrl!, DEVICES, 0, 100);
    // An ack means journaled, not yet in the instance: the test needs the bad device's
    // data.mdb written, so it waits for its readings to be readable before the kill.
    await waitFor(async () => (await seqsOf(first, BAD)).length === 100, 30_000, `${BAD}'s 100 readings applied`);
    await first.kill('SIGKILL');
    // Every data page of one instance overwritten, its two meta pages intact.
    expect(overwriteAllDataPages(join(data, 'devices', BAD))).toBeGreaterThan(2);
  }, 60_000);

  afterAll(async () => {
    await daemon?.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  });

  it('is quarantined at the restart; the other devices keep ingesting', async () => {
    daemon = await startDaemon({ dataDir: data });
    const d = daemon;
    // The bad device's messages are acked (dead-lettered), the others' stored.
    await publish(d.mqttUrl!, DEVICES, 100, 20);
    expect(d.proc.exitCode).toBeNull();
    for (const id of ['good-1', 'good-2']) expect(await seqsOf(d, id)).toEqual(range(0, 120));

    const read = await getJson(d.httpUrl, `/devices/${BAD}/latest`);
    expect(read.status).toBe(503);
    expect(read.body.error.code).toBe('DEVICE_UNAVAILABLE');
    expect(read.body.error.message).toMatch(new RegExp(`device ${BAD} is quarantined`));
    expect(read.body.error.message).not.toContain(data);

    const letters = (await getJson(d.httpUrl, '/deadletters?limit=1000')).body.deadLetters as Array<Record<string, unknown>>;
    const bad = letters.filter((l) => l.deviceId === BAD);
    const seqs = bad.map((l) => (JSON.parse(Buffer.from(String(l.payload), 'base64').toString()) as { seq: number }).seq);
    // Every message published after the restart, once; besides them only messages acked
    // before the kill whose journal records had not reached the instance yet: the replay
    // dead-letters them too (kept, not lost).
    expect(seqs.filter((s) => s >= 100).sort((x, y) => x - y)).toEqual(range(100, 20));
    const replayed = seqs.filter((s) => s < 100);
    expect(new Set(replayed).size).toBe(replayed.length);
    for (const l of bad) {
      expect(l.code).toBe('DEVICE_UNAVAILABLE');
      expect(String(l.message)).toMatch(/quarantined: its instance failed verification/);
      expect(String(l.message)).not.toContain(data);
    }
    expect(letters.filter((l) => l.deviceId !== BAD)).toEqual([]);

    const health = await getJson(d.httpUrl, '/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'degraded', reason: expect.stringContaining(BAD), quarantined: [{ deviceId: BAD }] });
    expect(await getText(d.httpUrl, '/metrics')).toMatch(/^lmj_instances_quarantined_total 1$/m);
    expect(existsSync(join(data, 'gateway', 'quarantined', `${BAD}.json`))).toBe(true);
  }, 60_000);

  it('a second SIGKILL restart keeps it quarantined; audit reports it; salvage --swap brings it back while the daemon runs', async () => {
    await daemon!.kill('SIGKILL');
    daemon = await startDaemon({ dataDir: data });
    const d = daemon;
    await publish(d.mqttUrl!, DEVICES, 120, 10);
    expect((await getJson(d.httpUrl, `/devices/${BAD}/latest`)).status).toBe(503);
    for (const id of ['good-1', 'good-2']) expect(await seqsOf(d, id)).toEqual(range(0, 130));

    // audit walks the instance in a child: exit 4 with the finding, no crash.
    const audit = await run(process.execPath, [CLI, 'audit', BAD, '--data', data]).then(
      () => undefined,
      (e: { code?: number; stdout: string; stderr: string; signal?: string | null }) => e,
    );
    expect(audit).toMatchObject({ code: 4, signal: null });
    expect(JSON.parse(audit!.stdout)).toMatchObject({ device: BAD, instance: { status: 'corrupt' } });
    expect(audit!.stderr).toMatch(new RegExp(`STORE_CORRUPT: device ${BAD}`));
    expect(audit!.stderr).toMatch(/lmj-edge salvage/);

    const salvage = await run(process.execPath, [CLI, 'salvage', BAD, '--data', data, '--swap']).then(
      () => undefined,
      (e: { code?: number; stdout: string }) => e,
    );
    // Nothing was readable: exit 3 (lost ranges), a fresh verified instance swapped in, the marker gone.
    expect(salvage?.code).toBe(3);
    expect(JSON.parse(salvage!.stdout)).toMatchObject({ device: BAD, verdict: { status: 'ok' }, swapped: { released: true } });
    expect(existsSync(join(data, 'gateway', 'quarantined', `${BAD}.json`))).toBe(false);
    await publish(d.mqttUrl!, [BAD], 1000, 5);
    expect(await seqsOf(d, BAD)).toEqual(range(1000, 5));
    expect((await getJson(d.httpUrl, '/healthz')).status).toBe(200);
    expect(d.proc.exitCode).toBeNull();
  }, 60_000);
});
