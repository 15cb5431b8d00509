import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encode as cborEncode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { buildGatewayHttpApi } from '../../../../src/gateway/http/api.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import type { Ingestor } from '../../../../src/gateway/ingest/types.js';
import { createLogger } from '../../../../src/http/logger.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';

let dir: string;
let ingestor: Ingestor;
let app: FastifyInstance;
let shuttingDown = false;

function json(body: string): any {
  return JSON.parse(body);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-http-'));
  const metrics = new GatewayMetrics(getCodec().kind);
  ingestor = await createIngestor({ dataDir: dir, hooks: metrics.ingestHooks() });
  metrics.setStatsSource(() => ingestor.stats());
  app = buildGatewayHttpApi({ source: ingestor, metrics, log: createLogger('silent'), isShuttingDown: () => shuttingDown });
  const t = (id: string): string => `devices/${id}/telemetry`;
  const base = Date.now() - 10_000;
  for (let i = 0; i < 5; i++) {
    const r = await ingestor.submit({
      topic: t('dev-1'),
      payload: Buffer.from(JSON.stringify({ seq: i, env: { temp: 20 + i, hum: 40 }, cells: [1, 2] })),
      qos: 1,
      receivedAt: base + i * 1000,
    });
    expect(r.status).toBe('stored');
  }
  await ingestor.submit({ topic: t('dev-2'), payload: cborEncode({ v: 1.5, ok: true }), qos: 1, receivedAt: base });
  await ingestor.submit({ topic: t('dev-3'), payload: Buffer.from('{"broken'), qos: 1 });
});

afterAll(async () => {
  await app?.close();
  await ingestor?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP API', () => {
  it('lists devices with paging', async () => {
    const all = json((await app.inject('/devices')).body);
    expect(all.devices.map((d: { id: string }) => d.id)).toEqual(['dev-1', 'dev-2']);
    expect(all.devices[0]).toEqual({ id: 'dev-1', lastSeen: expect.any(Number), readings: 5 });
    const p1 = json((await app.inject('/devices?limit=1')).body);
    expect(p1.devices.map((d: { id: string }) => d.id)).toEqual(['dev-1']);
    expect(p1.next).toEqual(expect.any(String));
    const p2 = json((await app.inject(`/devices?limit=1&cursor=${encodeURIComponent(p1.next)}`)).body);
    expect(p2.devices.map((d: { id: string }) => d.id)).toEqual(['dev-2']);
  });

  it('serves summary, latest (JSON and CBOR devices) and entities', async () => {
    const s = json((await app.inject('/devices/dev-1')).body);
    expect(s).toMatchObject({ id: 'dev-1', readings: 5 });
    const latest = json((await app.inject('/devices/dev-1/latest')).body);
    expect(latest).toEqual({ id: 'dev-1', ts: expect.any(Number), values: { seq: 4, 'env.temp': 24, 'env.hum': 40, 'cells[0]': 1, 'cells[1]': 2 } });
    const cbor = json((await app.inject('/devices/dev-2/latest')).body);
    expect(cbor.values).toEqual({ v: 1.5, ok: true });
    const root = json((await app.inject(`/devices/dev-1/entities/${s.pointers.root}`)).body);
    expect(root).toMatchObject({ ptr: s.pointers.root, type: 'object', exists: true });
  });

  it('pages readings with limit, cursor, range and fields', async () => {
    const p1 = json((await app.inject('/devices/dev-1/readings?limit=2')).body);
    expect(p1.readings.map((r: { values: { seq: number } }) => r.values.seq)).toEqual([0, 1]);
    expect(p1.readings[0]).toEqual({ ts: expect.any(Number), ptr: expect.stringMatching(/^[0-9a-f]{34}$/), id: expect.any(String), values: expect.any(Object) });
    const p2 = json((await app.inject(`/devices/dev-1/readings?limit=2&cursor=${p1.next}`)).body);
    expect(p2.readings.map((r: { values: { seq: number } }) => r.values.seq)).toEqual([2, 3]);
    const from = p1.readings[1].ts;
    const ranged = json((await app.inject(`/devices/dev-1/readings?from=${from}&to=${from + 2000}&fields=env`)).body);
    expect(ranged.readings).toHaveLength(2);
    expect(ranged.readings[0].values).toEqual({ 'env.temp': 21, 'env.hum': 40 });
    expect(ranged.next).toBeNull();
  });

  it('answers 404 for unknown devices without creating them', async () => {
    const res = await app.inject('/devices/nobody/latest');
    expect(res.statusCode).toBe(404);
    expect(json(res.body).error).toMatchObject({ code: 'NOT_FOUND', errno: -33205 });
    expect(existsSync(join(dir, 'devices', 'nobody'))).toBe(false);
    expect((await app.inject('/nope')).statusCode).toBe(404);
  });

  it('answers 400 with stable codes for bad parameters', async () => {
    for (const url of [
      '/devices/a..b',
      '/devices/x%2e%2e/latest',
      '/devices/%C3%A9t%C3%A9/latest',
      '/devices/a%2Fb',
      `/devices/${'x'.repeat(65)}`,
      '/devices/dev-1/readings?limit=0',
      '/devices/dev-1/readings?limit=1001',
      '/devices/dev-1/readings?from=abc',
      '/devices/dev-1/readings?cursor=zz',
      '/devices/dev-1/readings?from=10&to=5',
      '/devices/dev-1/entities/1234',
      '/devices?limit=-1',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(400);
      expect(json(res.body).error.code, url).toMatch(/^(BAD_REQUEST|BAD_DEVICE_ID|INVALID_POINTER)$/);
      expect(json(res.body).error.errno, url).toEqual(expect.any(Number));
    }
    expect(existsSync(join(dir, 'devices', '..', 'latest'))).toBe(false);
  });

  it('lists dead letters with reason and payload', async () => {
    const body = json((await app.inject('/deadletters')).body);
    expect(body.deadLetters).toHaveLength(1);
    expect(body.deadLetters[0]).toMatchObject({ topic: 'devices/dev-3/telemetry', code: 'BAD_JSON', deviceId: 'dev-3', qos: 1 });
    expect(Buffer.from(body.deadLetters[0].payload, 'base64').toString()).toBe('{"broken');
  });

  it('exposes Prometheus metrics and health', async () => {
    const m = await app.inject('/metrics');
    expect(m.statusCode).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
    expect(m.body).toContain(`lmj_codec_info{kind="${getCodec().kind}"} 1`);
    expect(m.body).toContain('lmj_messages_rejected_total{reason="BAD_JSON"} 1');
    expect(m.body).toMatch(/lmj_commit_batch_messages_count \d+/);
    expect(m.body).toMatch(/lmj_pool_open_instances \d+/);
    expect(json((await app.inject('/healthz')).body)).toMatchObject({ status: 'ok' });
    shuttingDown = true;
    expect((await app.inject('/healthz')).statusCode).toBe(503);
    shuttingDown = false;
  });
});
