/**
 * MQTT over TLS on the embedded broker, in-process, with a real ingest pipeline over real
 * LMDB files and certificates made by openssl: good and expired certificates, wrong CAs,
 * client certificates required but missing, a certificate CN publishing to another
 * device's topic, and stalled handshakes — each refused with its own counter.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { startEmbeddedBroker } from '../../../../src/gateway/broker/embedded.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { createLogger } from '../../../../src/http/logger.js';
import { TlsMetrics, type ClientCertMode } from '../../../../src/http/tls-listener.js';
import { loadTlsMaterial } from '../../../../src/http/tls-material.js';
import { makeCa, type CertFiles, type TestCa } from '../../../helpers/certs.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

let dir: string;
let ca: TestCa;
let other: TestCa;
let server: CertFiles;
let expiredServer: CertFiles;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-certs-'));
  ca = makeCa(dir, 'ca');
  other = makeCa(dir, 'other-ca');
  server = ca.server('server');
  expiredServer = ca.server('server-expired', -1);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(clientCerts: ClientCertMode, opts: { cert?: CertFiles; maxConnections?: number; handshakeTimeoutMs?: number } = {}) {
  const metrics = new GatewayMetrics(getCodec().kind);
  const ingestor = await createIngestor({ dataDir: tmpDir(), hooks: metrics.ingestHooks({}) });
  const cert = opts.cert ?? server;
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ingestor,
    metrics,
    log: createLogger('silent'),
    maxConnections: opts.maxConnections ?? 100,
    maxPacketBytes: 64 * 1024,
    maxInFlight: 10_000,
    tls: {
      host: '127.0.0.1',
      port: 0,
      material: loadTlsMaterial({ cert: cert.cert, key: cert.key, ca: ca.cert }),
      clientCerts,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
      metrics: new TlsMetrics(metrics.registry),
    },
  });
  onTestFinished(async () => {
    await broker.close();
    await ingestor.close();
  });
  const tlsPort = broker.tlsPort;
  if (tlsPort === undefined) throw new Error('no TLS port');
  return { metrics, ingestor, broker, tlsPort };
}

async function metricValue(metrics: GatewayMetrics, name: string, labels: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** Waits (on the event loop, no fixed sleep) until the counter reaches `want`; returns its value. */
async function counterReaches(metrics: GatewayMetrics, name: string, labels: string, want: number, ms = 10_000): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await metricValue(metrics, name, labels);
    if (v >= want || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const refused = (reason: string): string => `{listener="mqtt",reason="${reason}"}`;

/** Connects over TLS; resolves with the client on CONNACK, rejects with the first error or an early close. */
function connectTls(port: number, opts: IClientOptions & { client?: CertFiles; trust?: string; plain?: boolean }): Promise<MqttClient> {
  const { client: c, trust, plain, ...rest } = opts;
  const client = mqtt.connect(`${plain === true ? 'mqtt' : 'mqtts'}://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: readFileSync(trust ?? ca.cert),
    ...(c === undefined ? {} : { cert: readFileSync(c.cert), key: readFileSync(c.key) }),
    ...rest,
  });
  onTestFinished(() => void client.end(true));
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => reject(err));
    client.once('close', () => reject(Object.assign(new Error('closed before CONNACK'), { code: 'CLOSED' })));
  });
}

/** A raw TCP connection to `port` that sends nothing; resolves with it once connected. */
function stall(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    onTestFinished(() => void s.destroy());
  });
}

describe('MQTT over TLS', () => {
  it('stores a reading from a client with a good certificate, and binds its CN to its own device', async () => {
    const { tlsPort, ingestor } = await setup('require');
    const c = await connectTls(tlsPort, { client: ca.client('dev-a'), clientId: 'dev-a' });
    await c.publishAsync('devices/dev-a/telemetry', JSON.stringify({ t: 21.5 }), { qos: 1 });
    const page = await ingestor.readings('dev-a', { limit: 10 });
    expect(page.readings.map((r) => r.values.t)).toEqual([21.5]);
  });

  it('refuses a missing client certificate when certificates are required', async () => {
    const { tlsPort, metrics } = await setup('require');
    await expect(connectTls(tlsPort, { clientId: 'nocert' })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await counterReaches(metrics, 'lmj_tls_handshake_failures_total', refused('no_client_cert'), 1)).toBe(1);
  });

  it('refuses an expired client certificate and one from another CA, each with its own counter', async () => {
    const { tlsPort, metrics, ingestor } = await setup('require');
    await expect(connectTls(tlsPort, { client: ca.client('dev-x', -1) })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(connectTls(tlsPort, { client: other.client('dev-y') })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await counterReaches(metrics, 'lmj_tls_handshake_failures_total', refused('client_cert_expired'), 1)).toBe(1);
    expect(await counterReaches(metrics, 'lmj_tls_handshake_failures_total', refused('client_cert_untrusted'), 1)).toBe(1);
    expect(ingestor.stats().submitted).toBe(0);
  });

  it('refuses a publish to another device with its CN (acked, dead-lettered ACL_DENIED, counted)', async () => {
    const { tlsPort, metrics, ingestor } = await setup('require');
    const c = await connectTls(tlsPort, { client: ca.client('dev-a'), clientId: 'dev-a-2' });
    await c.publishAsync('devices/dev-b/telemetry', JSON.stringify({ t: 99 }), { qos: 1 });
    await c.publishAsync('devices/dev-a/telemetry', JSON.stringify({ t: 1 }), { qos: 1 });
    expect(await metricValue(metrics, 'lmj_mqtt_acl_denied_total', '{reason="cert_cn"}')).toBe(1);
    expect(await metricValue(metrics, 'lmj_messages_rejected_total', '{reason="ACL_DENIED"}')).toBe(1);
    const letters = await ingestor.deadLetters({ limit: 10 });
    expect(letters.deadLetters.map((l) => [l.code, l.topic, l.deviceId, l.clientId])).toEqual([['ACL_DENIED', 'devices/dev-b/telemetry', 'dev-b', 'dev-a-2']]);
    expect(ingestor.stats().stored).toBe(1);
    const devices = await ingestor.listDevices();
    expect(devices.devices.map((d) => d.id)).toEqual(['dev-a']);
  });

  it('a CN that is not a device id binds nothing', async () => {
    const { tlsPort, ingestor, metrics } = await setup('require');
    const c = await connectTls(tlsPort, { client: ca.client('bridge tool'), clientId: 'bridge' });
    await c.publishAsync('devices/dev-c/telemetry', '{"t":3}', { qos: 1 });
    await c.publishAsync('devices/dev-d/telemetry', '{"t":4}', { qos: 1 });
    expect(ingestor.stats().stored).toBe(2);
    expect(await metricValue(metrics, 'lmj_mqtt_acl_denied_total', '{reason="cert_cn"}')).toBe(0);
  });

  it('optional client certificates: none is fine, an untrusted one is refused', async () => {
    const { tlsPort, ingestor, metrics } = await setup('optional');
    const c = await connectTls(tlsPort, { clientId: 'anon' });
    await c.publishAsync('devices/dev-e/telemetry', '{"t":5}', { qos: 1 });
    expect(ingestor.stats().stored).toBe(1);
    await expect(connectTls(tlsPort, { client: other.client('dev-e') })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await counterReaches(metrics, 'lmj_tls_handshake_failures_total', refused('client_cert_untrusted'), 1)).toBe(1);
  });

  it('a client refuses an expired server certificate and one from a CA it does not trust; the broker counts both', async () => {
    const expired = await setup('off', { cert: expiredServer });
    await expect(connectTls(expired.tlsPort, {})).rejects.toMatchObject({ code: 'CERT_HAS_EXPIRED' });
    expect(await counterReaches(expired.metrics, 'lmj_tls_handshake_failures_total', refused('peer_aborted'), 1)).toBe(1);
    const good = await setup('off');
    await expect(connectTls(good.tlsPort, { trust: other.cert })).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(await counterReaches(good.metrics, 'lmj_tls_handshake_failures_total', refused('peer_aborted'), 1)).toBe(1);
    // Plain MQTT on the TLS port is not TLS.
    await expect(connectTls(good.tlsPort, { plain: true })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await counterReaches(good.metrics, 'lmj_tls_handshake_failures_total', refused('protocol'), 1)).toBe(1);
    expect(good.ingestor.stats().submitted + expired.ingestor.stats().submitted).toBe(0);
  });

  it('drops stalled handshakes after the timeout and refuses a flood beyond the connection cap', async () => {
    const { tlsPort, metrics, ingestor } = await setup('off', { maxConnections: 20, handshakeTimeoutMs: 300 });
    const sockets = await Promise.all(Array.from({ length: 30 }, () => stall(tlsPort)));
    const closed = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())));
    await Promise.all(closed);
    // 10 were over the cap (closed at accept), 20 were held until their handshake timed out.
    expect(await counterReaches(metrics, 'lmj_messages_shed_total', '{reason="max_connections"}', 10)).toBe(10);
    expect(await counterReaches(metrics, 'lmj_tls_handshake_failures_total', refused('timeout'), 20)).toBe(20);
    // The listener is usable again once they are gone.
    const c = await connectTls(tlsPort, { clientId: 'after-flood' });
    await c.publishAsync('devices/dev-f/telemetry', '{"t":6}', { qos: 1 });
    expect(ingestor.stats().stored).toBe(1);
  });
});
