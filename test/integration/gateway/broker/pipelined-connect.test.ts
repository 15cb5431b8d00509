/**
 * Clients that pipeline PUBLISHes right after CONNECT (allowed by MQTT, common in
 * firmware that does not wait for CONNACK): every packet in the same TCP write as
 * the CONNECT is handled, and a client exceeding the pre-CONNACK queue bound is
 * refused visibly (counted, logged), never silently.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { startEmbeddedBroker, type EmbeddedBrokerOptions } from '../../../../src/gateway/broker/embedded.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

async function setup(overrides: Partial<EmbeddedBrokerOptions> = {}) {
  const metrics = new GatewayMetrics(getCodec().kind);
  const ingestor = await createIngestor({ dataDir: tmpDir(), hooks: metrics.ingestHooks() });
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ingestor,
    metrics,
    log: pino({ level: 'warn' }, sink),
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
  return { metrics, ingestor, broker, lines };
}

async function shed(metrics: GatewayMetrics, reason: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('lmj_messages_shed_total');
  const line = text.split('\n').find((l) => l.startsWith(`lmj_messages_shed_total{reason="${reason}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** CONNECT followed by `n` QoS 1 PUBLISHes, all in one buffer. */
function connectAndPublish(clientId: string, n: number): Buffer {
  const parts = [mqttPacket.generate({ cmd: 'connect', clientId, protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30 })];
  for (let i = 1; i <= n; i++) {
    parts.push(
      mqttPacket.generate({
        cmd: 'publish',
        topic: `devices/pipe-${i % 5}/telemetry`,
        payload: Buffer.from(JSON.stringify({ i })),
        qos: 1,
        messageId: i,
        dup: false,
        retain: false,
      }),
    );
  }
  return Buffer.concat(parts);
}

/** Opens a raw socket and collects every packet the broker sends until `until` says stop or the socket closes. */
async function rawExchange(port: number, bytes: Buffer, until: (received: Packet[]) => boolean) {
  const sock: Socket = netConnect(port, '127.0.0.1');
  onTestFinished(() => void sock.destroy());
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const received: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let closed = false;
  const done = new Promise<void>((resolve) => {
    parser.on('packet', (p) => {
      received.push(p);
      if (until(received)) resolve();
    });
    sock.once('close', () => {
      closed = true;
      resolve();
    });
  });
  sock.on('data', (d: Buffer) => parser.parse(d));
  // One write: the broker sees the CONNECT and the PUBLISHes in the same read.
  sock.write(bytes);
  await done;
  return { received, closed };
}

describe('pipelining after CONNECT', () => {
  it('CONNECT + 100 QoS 1 PUBLISHes in one write: CONNACK, 100 PUBACKs in order, 100 stored', async () => {
    const { broker, ingestor, metrics } = await setup();
    const { received, closed } = await rawExchange(broker.port, connectAndPublish('pipe', 100), (r) => r.length === 101);
    expect(closed).toBe(false);
    expect(received[0]?.cmd).toBe('connack');
    const acks = received.slice(1).map((p) => (p.cmd === 'puback' ? p.messageId : -1));
    expect(acks).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
    expect(ingestor.stats().stored).toBe(100);
    expect(await shed(metrics, 'connect_queue_full')).toBe(0);
  });

  it('a client pipelining more than the pre-CONNACK bound is refused, counted and logged', async () => {
    const { broker, ingestor, metrics, lines } = await setup({ maxQueuedBeforeConnack: 10 });
    const { received, closed } = await rawExchange(broker.port, connectAndPublish('greedy', 100), () => false);
    expect(closed).toBe(true);
    // Nothing was acknowledged, so a QoS 1 client redelivers everything after reconnecting.
    expect(received.filter((p) => p.cmd === 'puback')).toEqual([]);
    expect(ingestor.stats().submitted).toBe(0);
    // The 10 queued PUBLISHes plus the one that overflowed were parsed and dropped.
    expect(await shed(metrics, 'connect_queue_full')).toBe(11);
    const line = lines.find((l) => l.msg === 'mqtt client pipelined too many packets before CONNACK; connection closed');
    expect(line).toMatchObject({ client: 'greedy', limit: 10, dropped: 11 });
  });
});
