/** The embedded aedes broker in-process, with a real ingest pipeline over real LMDB files. */
import { connect as netConnect } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { startEmbeddedBroker, type EmbeddedBrokerOptions } from '../../../../src/gateway/broker/embedded.js';
import { hashPasswordLine, UserTable } from '../../../../src/gateway/broker/users.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import { createLogger } from '../../../../src/http/logger.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

async function setup(overrides: Partial<EmbeddedBrokerOptions> = {}) {
  const metrics = new GatewayMetrics(getCodec().kind);
  const ingestor = await createIngestor({ dataDir: tmpDir(), hooks: metrics.ingestHooks() });
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ingestor,
    metrics,
    log: createLogger('silent'),
    maxConnections: 100,
    maxPacketBytes: 64 * 1024,
    maxInFlight: 10_000,
    maxQueuedBeforeConnack: 1000,
    ...overrides,
  });
  onTestFinished(async () => {
    await broker.close();
    await ingestor.close();
  });
  return { metrics, ingestor, broker, url: `mqtt://127.0.0.1:${broker.port}` };
}

async function metricValue(metrics: GatewayMetrics, name: string, labels = ''): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('embedded broker', () => {
  it('acks QoS 1 after commit, in publish order, with many messages per group commit', async () => {
    const { url, ingestor, metrics } = await setup();
    const c = await mqtt.connectAsync(url, { clientId: 'order' });
    onTestFinished(() => void c.end(true));
    const sent: number[] = [];
    const acked: number[] = [];
    c.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent.push(p.messageId!);
    });
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') acked.push(p.messageId!);
    });
    // 30 devices commit independently; PUBACKs must still follow the publish order.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => c.publishAsync(`devices/o-${i % 30}/telemetry`, JSON.stringify({ i }), { qos: 1 })),
    );
    expect(acked).toEqual(sent);
    expect(ingestor.stats().stored).toBe(300);
    const page = await ingestor.readings('o-7', { limit: 1000 });
    expect(page.readings.map((r) => r.values.i)).toEqual(Array.from({ length: 10 }, (_, k) => 7 + 30 * k));
    // Pipelining: the 300 messages did not need 300 commits.
    const commits = await metricValue(metrics, 'lmj_commit_batch_messages', '_count');
    expect(commits).toBeLessThan(300);
    expect(await metricValue(metrics, 'lmj_messages_acked_total', '{transport="embedded"}')).toBe(300);
  });

  it('refuses subscriptions and keeps no retained messages', async () => {
    const { url, ingestor } = await setup();
    const c = await mqtt.connectAsync(url, { clientId: 'sub' });
    onTestFinished(() => void c.end(true));
    // mqtt.js turns a SUBACK with 0x80 into an error.
    await expect(c.subscribeAsync('devices/+/telemetry', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await c.publishAsync('devices/r-1/telemetry', '{"a":1}', { qos: 1, retain: true });
    expect(ingestor.stats().stored).toBe(1);
  });

  it('requires credentials when a users table is given', async () => {
    const users = UserTable.parse(await hashPasswordLine('dev', 'pw'));
    const { url } = await setup({ users });
    // CONNACK return code 4: bad user name or password (MQTT 3.1.1 §3.2.2.3).
    await expect(mqtt.connectAsync(url, { clientId: 'anon', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    await expect(mqtt.connectAsync(url, { clientId: 'bad', username: 'dev', password: 'nope', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    const ok = await mqtt.connectAsync(url, { clientId: 'good', username: 'dev', password: 'pw', reconnectPeriod: 0 });
    await ok.publishAsync('devices/dev/telemetry', '{"x":1}', { qos: 1 });
    await ok.endAsync();
  });

  it('closes a connection announcing a packet over maxPacketBytes, before buffering it', async () => {
    const { broker, metrics, ingestor } = await setup({ maxPacketBytes: 4096 });
    const sock = netConnect(broker.port, '127.0.0.1');
    onTestFinished(() => void sock.destroy());
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => {});
    sock.write(mqttPacket.generate({ cmd: 'connect', clientId: 'big', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30 }));
    const header = mqttPacket.generate({ cmd: 'publish', topic: 'devices/big/telemetry', payload: Buffer.alloc(1 << 20, 0x20), qos: 0, dup: false, retain: false });
    // Stream 64 KiB of a 1 MiB packet: the broker must give up long before the end.
    sock.write(header.subarray(0, 64 * 1024));
    await closed;
    expect(await metricValue(metrics, 'lmj_messages_shed_total', '{reason="packet_too_large"}')).toBe(1);
    expect(ingestor.stats().submitted).toBe(0);
  });

  it('sheds QoS 0 beyond maxInFlight instead of queueing without bound', async () => {
    const { url, metrics } = await setup({ maxInFlight: 1 });
    const c = await mqtt.connectAsync(url, { clientId: 'flood' });
    onTestFinished(() => void c.end(true));
    for (let i = 0; i < 500; i++) c.publish(`devices/f-${i % 50}/telemetry`, JSON.stringify({ i }), { qos: 0 });
    // A QoS 1 publish after the flood is acked only once everything before it was handled.
    await c.publishAsync('devices/f-0/telemetry', '{"last":true}', { qos: 1 });
    expect(await metricValue(metrics, 'lmj_messages_shed_total', '{reason="overloaded"}')).toBeGreaterThan(0);
  });

  it('a PUBLISH under $SYS/ is rejected like any bad topic: acked, counted, dead-lettered, session kept', async () => {
    const { url, ingestor, metrics } = await setup();
    const victim = await mqtt.connectAsync(url, { clientId: 'victim', reconnectPeriod: 0 });
    onTestFinished(() => void victim.end(true));
    let victimClosed = false;
    victim.on('close', () => (victimClosed = true));
    const c = await mqtt.connectAsync(url, { clientId: 'sys', reconnectPeriod: 0 });
    onTestFinished(() => void c.end(true));
    let closed = false;
    c.on('close', () => (closed = true));
    // aedes' own handler for this topic closes the client named in the payload, had
    // the message been forwarded; QoS 0 and QoS 1 alike.
    await c.publishAsync('$SYS/other-broker/new/clients', 'victim', { qos: 1 });
    await c.publishAsync('$SYS/other-broker/new/clients', 'victim', { qos: 0 });
    await c.publishAsync('devices/after-sys/telemetry', '{"ok":1}', { qos: 1 });
    await ingestor.flush();
    expect(closed).toBe(false);
    expect(c.connected).toBe(true);
    expect(victimClosed).toBe(false);
    expect(ingestor.stats().stored).toBe(1);
    expect(await metricValue(metrics, 'lmj_messages_rejected_total', '{reason="BAD_TOPIC"}')).toBe(2);
    expect(await metricValue(metrics, 'lmj_messages_acked_total', '{transport="embedded"}')).toBe(2);
    const page = await ingestor.deadLetters();
    expect(page.deadLetters.map((d) => [d.topic, d.code, d.qos])).toEqual([
      ['$SYS/other-broker/new/clients', 'BAD_TOPIC', 0],
      ['$SYS/other-broker/new/clients', 'BAD_TOPIC', 1],
    ]);
    expect(page.deadLetters[0]?.message).toMatch(/reserved/);
  });

  it('close() drains: every acked message is stored, later ones are refused without an ack', async () => {
    const metrics = new GatewayMetrics(getCodec().kind);
    const ingestor = await createIngestor({ dataDir: tmpDir(), hooks: metrics.ingestHooks() });
    // One message is held before the real ingestor until released, so close() is
    // deterministically draining (in flight > 0) while the later publishes arrive.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      ingestor: {
        submit: (m) => {
          if (m.topic !== 'devices/hold/telemetry') return ingestor.submit(m);
          held++;
          return gate.then(() => ingestor.submit(m));
        },
      },
      metrics,
      log: createLogger('silent'),
      maxConnections: 100,
      maxPacketBytes: 64 * 1024,
      maxInFlight: 10_000,
    });
    onTestFinished(async () => {
      release();
      await broker.close();
      await ingestor.close();
    });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const pubacks = (c: mqtt.MqttClient): number[] => {
      const ids: number[] = [];
      c.on('packetreceive', (p) => {
        if (p.cmd === 'puback') ids.push(p.messageId!);
      });
      return ids;
    };
    const a = await mqtt.connectAsync(url, { clientId: 'drain-a', reconnectPeriod: 0 });
    const b = await mqtt.connectAsync(url, { clientId: 'drain-b', reconnectPeriod: 0 });
    for (const c of [a, b]) {
      c.on('error', () => {});
      onTestFinished(() => void c.end(true));
    }
    const ackedA = pubacks(a);
    const ackedB = pubacks(b);

    const N = 200;
    await Promise.all(Array.from({ length: N }, (_, i) => a.publishAsync(`devices/dr-${i % 4}/telemetry`, JSON.stringify({ i }), { qos: 1 })));
    expect(ackedA).toHaveLength(N);
    const heldAck = new Promise<void>((resolve) => a.publish('devices/hold/telemetry', '{"held":true}', { qos: 1 }, () => resolve()));
    await until(() => held === 1 && broker.inFlight() === 1);

    const closing = broker.close();
    const inBefore = await metricValue(metrics, 'lmj_messages_in_total', '{transport="embedded",qos="1"}');
    const bClosed = new Promise<void>((resolve) => b.stream.once('close', () => resolve()));
    for (let i = 0; i < 20; i++) b.publish('devices/late/telemetry', JSON.stringify({ late: i }), { qos: 1 });
    // The broker refuses the first late publication by closing b's connection.
    await bClosed;
    expect(await metricValue(metrics, 'lmj_messages_in_total', '{transport="embedded",qos="1"}')).toBeGreaterThan(inBefore);
    expect(ackedB).toEqual([]);

    release();
    await closing;
    await heldAck;
    expect(ackedA).toHaveLength(N + 1);
    await ingestor.flush();
    const stored: number[] = [];
    for (let d = 0; d < 4; d++) {
      for (const r of (await ingestor.readings(`dr-${d}`, { limit: 1000 })).readings) stored.push(r.values['i'] as number);
    }
    expect(stored.sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect((await ingestor.readings('hold', { limit: 10 })).readings.map((r) => r.values['held'])).toEqual([true]);
    await expect(ingestor.readings('late', { limit: 10 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(ingestor.stats().stored).toBe(N + 1);
  });
});

/** Resolves once `cond()` holds, checking on every turn of the event loop. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}
