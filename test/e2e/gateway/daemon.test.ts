/**
 * The compiled daemon as a real process: MQTT publish → HTTP read (JSON and CBOR,
 * QoS 0 and 1), bad input end to end, SIGTERM drain, external mode with mosquitto.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encode as cborEncode } from 'cbor-x';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { CLI, startDaemon } from '../../helpers/daemon.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getJson, getRaw, getText, waitFor } from './http-client.js';

const run = promisify(execFile);
/** Each test starts real daemon processes (1–2 s each, more on a loaded CI box). */
const TIMEOUT = 90_000;

describe('lmj-edge start (embedded broker)', () => {
  it('stores JSON and CBOR at QoS 0 and 1 and serves them over HTTP', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data });
    try {
      const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'e2e-pub' });
      await c.publishAsync('devices/s-1/telemetry', JSON.stringify({ env: { temp: 21.5 }, seq: 1 }), { qos: 1 });
      // QoS 1 resolves on PUBACK, which comes after the durable commit: readable right away.
      expect((await getJson(d.httpUrl, '/devices/s-1/latest')).body).toMatchObject({
        id: 's-1',
        values: { 'env.temp': 21.5, seq: 1 },
      });
      await c.publishAsync('devices/s-2/telemetry', cborEncode({ volt: 3.3, tags: ['a', 'b'] }), { qos: 1 });
      expect((await getJson(d.httpUrl, '/devices/s-2/latest')).body.values).toEqual({ volt: 3.3, 'tags[0]': 'a', 'tags[1]': 'b' });
      await c.publishAsync('devices/s-3/telemetry', JSON.stringify({ q: 0 }), { qos: 0 });
      await waitFor(async () => (await getJson(d.httpUrl, '/devices/s-3/latest')).status === 200, 10_000, 'QoS 0 reading');
      const list = (await getJson(d.httpUrl, '/devices')).body;
      expect(list.devices.map((x: { id: string }) => x.id)).toEqual(['s-1', 's-2', 's-3']);
      // The CLI against the running daemon (--http) sees the same devices.
      const cli = await run(process.execPath, [CLI, 'devices', '--http', d.httpUrl, '--json']);
      expect(JSON.parse(cli.stdout).devices.map((x: { id: string }) => x.id)).toEqual(['s-1', 's-2', 's-3']);
      const metrics = await getText(d.httpUrl, '/metrics');
      expect(metrics).toMatch(/lmj_messages_in_total\{transport="embedded",qos="1"\} 2/);
      expect(metrics).toMatch(/lmj_messages_acked_total\{transport="embedded"\} 2/);
      await c.endAsync();
    } finally {
      await d.kill('SIGKILL');
    }
  }, TIMEOUT);

  it('rejects bad input with a reason, keeps the session, stores the next good message', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data });
    try {
      const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'e2e-bad', reconnectPeriod: 0 });
      let closed = false;
      c.on('close', () => (closed = true));
      const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
      const bad: Array<[string, string | Buffer]> = [
        ['devices/ok-1/status', '{}'],
        ['devices/../telemetry', '{"x":1}'],
        ['devices/a b/telemetry', '{"x":1}'],
        [`devices/${'x'.repeat(65)}/telemetry`, '{"x":1}'],
        ['devices/ok-1/telemetry', '{"temp": 21.'],
        ['devices/ok-1/telemetry', Buffer.from([0xa1, 0x61])],
        ['devices/ok-1/telemetry', deep],
        ['devices/ok-1/telemetry', JSON.stringify({ ['k'.repeat(600)]: 1 })],
      ];
      for (const [topic, payload] of bad) await c.publishAsync(topic, payload, { qos: 1 });
      await c.publishAsync('devices/ok-1/telemetry', JSON.stringify({ good: true }), { qos: 1 });
      expect(closed).toBe(false);
      expect((await getJson(d.httpUrl, '/devices/ok-1/latest')).body.values).toEqual({ good: true });
      expect((await allReadings(d.httpUrl, 'ok-1')).length).toBe(1);
      const dl = (await getJson(d.httpUrl, '/deadletters?limit=100')).body;
      expect(dl.deadLetters).toHaveLength(bad.length);
      const codes = new Set(dl.deadLetters.map((x: { code: string }) => x.code));
      for (const code of ['BAD_TOPIC', 'BAD_DEVICE_ID', 'BAD_JSON', 'BAD_CBOR', 'TOO_DEEP', 'PATH_TOO_LONG']) expect(codes).toContain(code);
      const metrics = await getText(d.httpUrl, '/metrics');
      expect(metrics).toMatch(/lmj_messages_rejected_total\{reason="BAD_DEVICE_ID"\} [1-9]/);
      expect(metrics).toMatch(/lmj_messages_rejected_total\{reason="BAD_JSON"\} 1/);
      // Nothing outside DIR/devices, and no device directory for a bad id.
      expect(existsSync(join(data, 'telemetry'))).toBe(false);
      expect(existsSync(join(data, 'devices', '..', 'telemetry'))).toBe(false);
      const raw = await getRaw(d.httpPort, '/devices/%2e%2e/latest');
      expect([400, 404]).toContain(raw.status);
      expect(JSON.parse(raw.body).error.code).toMatch(/BAD_DEVICE_ID|BAD_REQUEST|NOT_FOUND/);
      await c.endAsync();
    } finally {
      await d.kill('SIGKILL');
    }
  }, TIMEOUT);

  it('drains on SIGTERM: every PUBACKed message is stored, exit code 0', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'e2e-term', reconnectPeriod: 0 });
    c.on('error', () => {});
    const acked: number[] = [];
    let stop = false;
    // Not awaited: after the daemon exits, mqtt.js keeps unacked QoS 1 publishes pending.
    void (async () => {
      for (let seq = 0; !stop && seq < 100_000; seq += 20) {
        const batch = Array.from({ length: 20 }, (_, i) =>
          c.publishAsync('devices/term-1/telemetry', JSON.stringify({ seq: seq + i }), { qos: 1 }).then(
            () => acked.push(seq + i),
            () => {},
          ),
        );
        await Promise.all(batch);
      }
    })();
    await waitFor(() => acked.length >= 200, 15_000, '200 acks');
    const code = await d.kill('SIGTERM');
    stop = true;
    const ackedAtExit = [...acked];
    c.end(true);
    expect(code).toBe(0);
    const again = await startDaemon({ dataDir: data });
    try {
      const seqs = (await allReadings(again.httpUrl, 'term-1')).map((r) => r.values.seq as number);
      const stored = new Set(seqs);
      expect(seqs.length).toBe(stored.size);
      for (const s of ackedAtExit) expect(stored.has(s)).toBe(true);
    } finally {
      await again.kill('SIGKILL');
    }
  }, TIMEOUT);
});

describe('lmj-edge start --broker (external mosquitto)', () => {
  it('subscribes, stores QoS 1 and QoS 0 messages, and acks after commit', async () => {
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mosquitto'));
    const d = await startDaemon({ dataDir: join(dir, 'data'), broker: mq.url });
    try {
      expect(d.stdout()).toContain(`mqtt subscribed to ${mq.url}`);
      const c = await mqtt.connectAsync(mq.url, { clientId: 'ext-pub' });
      for (let i = 0; i < 50; i++) {
        await c.publishAsync(`devices/x-${i % 5}/telemetry`, JSON.stringify({ i }), { qos: (i % 2) as 0 | 1 });
      }
      await c.publishAsync('devices/x-c/telemetry', cborEncode({ cbor: 1 }), { qos: 1 });
      await waitFor(async () => {
        const list = (await getJson(d.httpUrl, '/devices')).body;
        return list.devices.reduce((n: number, x: { readings: number }) => n + x.readings, 0) === 51;
      }, 15_000, '51 readings');
      expect((await getJson(d.httpUrl, '/devices/x-c/latest')).body.values).toEqual({ cbor: 1 });
      const metrics = await getText(d.httpUrl, '/metrics');
      expect(metrics).toMatch(/lmj_messages_acked_total\{transport="external"\} 26/);
      await c.endAsync();
      expect(await d.kill('SIGTERM')).toBe(0);
    } finally {
      await d.kill('SIGKILL');
      await mq.stop();
    }
  }, TIMEOUT);
});
