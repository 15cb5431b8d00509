/**
 * SIGTERM while a message is still being committed. To hold the drain open without
 * touching the daemon, it runs under strace with every fdatasync of the dead-letter
 * store delayed by 3 s (`-P …/deadletters/data.mdb -e inject=fdatasync:delay_enter=…`),
 * in `fast` durability so only that store syncs a message: a rejected QoS 1 message (bad
 * JSON) is then in flight for 3 s, and the drain must wait for it. The store is created
 * before the daemon starts (by the daemon's own class), so the daemon's start makes no
 * delayed sync. Steps are ordered by events (healthz 503, socket close, PUBACK), and the
 * held message's PUBACK is asserted to come after them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deadLettersDir } from '../../../src/gateway/layout.js';
import { ROOT, startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { traceePid } from '../../helpers/strace.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getJson, waitFor } from './http-client.js';

const HOLD_US = 3_000_000;

async function heldDaemon(data: string): Promise<DaemonProcess> {
  // Creating the store syncs it twice: done first, by the daemon's own class in a
  // process of its own, the daemon then only opens it (no sync).
  const store = pathToFileURL(join(ROOT, 'dist', 'src', 'gateway', 'dead-letters.js')).href;
  execFileSync(process.execPath, ['--input-type=module', '-e', `const { DeadLetterStore } = await import(${JSON.stringify(store)}); await new DeadLetterStore(process.argv[1]).close();`, deadLettersDir(data)]);
  const letters = join(deadLettersDir(data), 'data.mdb');
  return startDaemon({
    dataDir: data,
    args: ['--durability', 'fast'],
    wrap: ['strace', '-f', '-qq', '-o', '/dev/null', '-P', letters, '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${HOLD_US}`],
    timeoutMs: 90_000,
  });
}

/** Connects, and records the PUBACK packet ids and the close of the connection in order. */
async function client(url: string, id: string, log: string[]): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: id, reconnectPeriod: 0 });
  c.on('error', () => {});
  c.on('packetreceive', (p) => {
    if (p.cmd === 'puback') log.push(`${id} puback`);
  });
  c.stream.once('close', () => log.push(`${id} closed`));
  onTestFinished(() => void c.end(true));
  return c;
}

/** Publishes the bad message that holds the drain, and resolves once the daemon has it in flight. */
async function hold(d: DaemonProcess, a: mqtt.MqttClient): Promise<void> {
  a.publish('devices/held/telemetry', '{"bad":', { qos: 1 });
  await waitFor(async () => (await getJson(d.httpUrl, '/healthz')).body.inFlight === 1, 20_000, 'the held message in flight');
}

describe('shutdown under SIGTERM', () => {
  it('during the drain, new publications are refused without an ack; the in-flight one is acked; exit 0', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const d = await heldDaemon(data);
    const log: string[] = [];
    const a = await client(d.mqttUrl!, 'a', log);
    const b = await client(d.mqttUrl!, 'b', log);
    await a.publishAsync('devices/ok/telemetry', '{"seq":1}', { qos: 1 });
    await hold(d, a);
    process.kill(traceePid(d.proc.pid!), 'SIGTERM');
    await waitFor(async () => (await getJson(d.httpUrl, '/healthz')).status === 503, 10_000, 'healthz 503');
    b.publish('devices/late/telemetry', '{"seq":2}', { qos: 1 });
    await waitFor(() => log.includes('b closed'), 10_000, 'b refused');
    expect(await d.exited).toBe(0);
    // a's first message, then (after b was refused) the held one: acked before the exit.
    expect(log.filter((e) => e !== 'a closed')).toEqual(['a puback', 'b closed', 'a puback']);

    const again = await startDaemon({ dataDir: data });
    try {
      expect((await allReadings(again.httpUrl, 'ok')).map((r) => r.values)).toEqual([{ seq: 1 }]);
      expect((await getJson(again.httpUrl, '/devices/late')).status).toBe(404);
      const dl = (await getJson(again.httpUrl, '/deadletters?limit=10')).body.deadLetters;
      expect(dl.map((x: { topic: string; code: string }) => [x.topic, x.code])).toEqual([['devices/held/telemetry', 'BAD_JSON']]);
    } finally {
      await again.kill('SIGKILL');
    }
  }, 180_000);

  it('a second signal during the drain exits at once with 130, without the held ack', async () => {
    const d = await heldDaemon(join(tmpDir(), 'data'));
    const log: string[] = [];
    const a = await client(d.mqttUrl!, 'a', log);
    await hold(d, a);
    const pid = traceePid(d.proc.pid!);
    process.kill(pid, 'SIGTERM');
    await waitFor(async () => (await getJson(d.httpUrl, '/healthz')).status === 503, 10_000, 'healthz 503');
    process.kill(pid, 'SIGINT');
    expect(await d.exited).toBe(130);
    expect(d.stderr()).toMatch(/SIGINT again, exiting without draining/);
    expect(log.filter((e) => e === 'a puback')).toEqual([]);
  }, 180_000);
});
