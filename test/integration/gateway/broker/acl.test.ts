/**
 * Per-device credentials and the publish ACL of the embedded broker: one real aedes
 * broker on a loopback port over a real ingest pipeline (LMDB files in a temp dir),
 * mqtt.js clients. A device publishing to another device's topic is refused
 * (dead-lettered ACL_DENIED, acked, counted), its session stays open, and the other
 * device's store never sees the message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../../src/gateway/broker/embedded.js';
import { hashPasswordLine, UserTable } from '../../../../src/gateway/broker/users.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import type { Ingestor } from '../../../../src/gateway/ingest/types.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { createLogger } from '../../../../src/http/logger.js';

let dir: string;
let metrics: GatewayMetrics;
let ingestor: Ingestor;
let broker: EmbeddedBroker;
let url: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // One broker for the file (beforeAll: tmpDir's per-test cleanup does not apply here).
  dir = mkdtempSync(join(tmpdir(), 'lmj-acl-'));
  metrics = new GatewayMetrics(getCodec().kind);
  ingestor = await createIngestor({ dataDir: dir, hooks: metrics.ingestHooks() });
  const users = UserTable.parse(
    [
      await hashPasswordLine('sensor-1', 'pw1'),
      await hashPasswordLine('sensor-2', 'pw2'),
      await hashPasswordLine('bridge', 'pwb', ['room-a', 'room-b']),
      await hashPasswordLine('not..a.device', 'pwn'),
    ].join('\n'),
  );
  broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ingestor,
    metrics,
    users,
    topics: ingestor.topics,
    log: createLogger('silent'),
    maxConnections: 100,
    maxPacketBytes: 64 * 1024,
    maxInFlight: 10_000,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await broker.close();
  await ingestor.close();
  rmSync(dir, { recursive: true, force: true });
});

async function client(username: string, password: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: `c-${username}-${clients.length}`, username, password, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

async function counter(name: string, labels: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('MQTT per-device ACL', () => {
  it('refuses a wrong password and an unknown user with CONNACK 4', async () => {
    await expect(mqtt.connectAsync(url, { clientId: 'w1', username: 'sensor-1', password: 'pw2', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    await expect(mqtt.connectAsync(url, { clientId: 'w2', username: 'ghost', password: 'pw1', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    await expect(mqtt.connectAsync(url, { clientId: 'w3', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    expect(await counter('lmj_messages_shed_total', '{reason="auth_failed"}')).toBeGreaterThanOrEqual(3);
  });

  it("refuses another device's topic: dead-lettered, counted, session kept, the other device untouched", async () => {
    const s1 = await client('sensor-1', 'pw1');
    const s2 = await client('sensor-2', 'pw2');
    await s2.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ t: 20, seq: 1 }), { qos: 1 });
    const before = await ingestor.readings('sensor-2', { limit: 100 });
    expect(before.readings.map((r) => r.values.t)).toEqual([20]);
    const deniedBefore = await counter('lmj_mqtt_acl_denied_total', '{reason="other_device"}');

    // QoS 1 and QoS 0 spoofs, telemetry and meta: each acked (QoS 1) and refused.
    await s1.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ t: 99, seq: 2 }), { qos: 1 });
    await s1.publishAsync('devices/sensor-2/meta', JSON.stringify({ fw: 'evil' }), { qos: 1 });
    await s1.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ t: 98, seq: 3 }), { qos: 0 });
    // The same session still publishes for its own device (nothing was closed).
    await s1.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ t: 5, seq: 1 }), { qos: 1 });
    expect(s1.connected).toBe(true);
    await ingestor.flush();

    expect(await counter('lmj_mqtt_acl_denied_total', '{reason="other_device"}')).toBe(deniedBefore + 3);
    expect(await counter('lmj_messages_rejected_total', '{reason="ACL_DENIED"}')).toBeGreaterThanOrEqual(3);
    const after = await ingestor.readings('sensor-2', { limit: 100 });
    expect(after.readings.map((r) => r.values.t)).toEqual([20]);
    expect((await ingestor.deviceSummary('sensor-2')).readings).toBe(1);
    expect((await ingestor.readings('sensor-1', { limit: 10 })).readings.map((r) => r.values.t)).toEqual([5]);

    const letters = (await ingestor.deadLetters({ limit: 100 })).deadLetters.filter((d) => d.code === 'ACL_DENIED' && d.topic.startsWith('devices/sensor-2/'));
    expect(letters).toHaveLength(3);
    for (const d of letters) {
      expect(d.message).toMatch(/user "sensor-1" may publish only for "sensor-1"; refused topic of device "sensor-2"/);
      expect(d.deviceId).toBe('sensor-2');
    }
    expect(letters.map((d) => JSON.parse(d.payload.toString()))).toContainEqual({ t: 99, seq: 2 });
  });

  it('a device= mapping allows exactly its devices; a user whose name is no device id may publish for none', async () => {
    const bridge = await client('bridge', 'pwb');
    await bridge.publishAsync('devices/room-a/telemetry', '{"t":1}', { qos: 1 });
    await bridge.publishAsync('devices/room-b/telemetry', '{"t":2}', { qos: 1 });
    await bridge.publishAsync('devices/bridge/telemetry', '{"t":3}', { qos: 1 });
    const odd = await client('not..a.device', 'pwn');
    const noDevice = await counter('lmj_mqtt_acl_denied_total', '{reason="no_device"}');
    await odd.publishAsync('devices/room-a/telemetry', '{"t":4}', { qos: 1 });
    await ingestor.flush();
    expect((await ingestor.readings('room-a', { limit: 10 })).readings.map((r) => r.values.t)).toEqual([1]);
    expect((await ingestor.readings('room-b', { limit: 10 })).readings.map((r) => r.values.t)).toEqual([2]);
    await expect(ingestor.deviceSummary('bridge')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await counter('lmj_mqtt_acl_denied_total', '{reason="no_device"}')).toBe(noDevice + 1);
  });

  it('a topic naming no device is still BAD_TOPIC, not an ACL refusal', async () => {
    const s1 = await client('sensor-1', 'pw1');
    const denied = await counter('lmj_mqtt_acl_denied_total', '{reason="other_device"}');
    await s1.publishAsync('elsewhere/x', '{"t":1}', { qos: 1 });
    await ingestor.flush();
    expect(await counter('lmj_mqtt_acl_denied_total', '{reason="other_device"}')).toBe(denied);
    const last = (await ingestor.deadLetters({ limit: 1 })).deadLetters[0];
    expect(last).toMatchObject({ code: 'BAD_TOPIC', topic: 'elsewhere/x' });
  });
});
