/**
 * The dashboard's JSON endpoints and static files against the compiled daemon:
 * `/devices/:id/series` (buckets of readings published over MQTT, validation errors in
 * the API's error shape), `/dashboard/overview` (counters, rejects, dead letters,
 * disk), `/` and its assets served from the daemon.
 */
import { statfsSync } from 'node:fs';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getJson } from './http-client.js';

const TIMEOUT = 120_000;

describe('dashboard endpoints', () => {
  it('buckets readings, validates parameters, reports the overview and serves the page', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data });
    const pub = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'dash-api' });
    try {
      for (let i = 0; i < 20; i++) await pub.publishAsync('devices/m-1/telemetry', JSON.stringify({ v: i, s: 'text' }), { qos: 1 });
      await pub.publishAsync('devices/m-1/telemetry', '{"v":', { qos: 1 });
      await pub.publishAsync('devices/bad id/telemetry', '{}', { qos: 1 });
      const ts = (await allReadings(d.httpUrl, 'm-1')).map((r) => r.ts);
      expect(ts).toHaveLength(20);
      const from = ts[0]!;
      const to = ts[19]! + 1;

      const one = await getJson(d.httpUrl, `/devices/m-1/series?fields=v,s&from=${from}&to=${to}&buckets=1`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ id: 'm-1', from, to, buckets: 1, readings: 20, t: [from] });
      expect(one.body.fields.v).toEqual({ min: [0], avg: [9.5], max: [19], count: [20], nonNumeric: 0 });
      expect(one.body.fields.s).toMatchObject({ count: [0], nonNumeric: 20 });
      // A range of at least 500 ms (buckets may not be shorter than 1 ms), whatever the publish pace.
      const many = await getJson(d.httpUrl, `/devices/m-1/series?fields=v&from=${from}&to=${Math.max(to, from + 60_000)}&buckets=500`);
      expect(many.body.t).toHaveLength(500);
      expect(many.body.fields.v.count.reduce((a: number, b: number) => a + b, 0)).toBe(20);
      // Defaults: the last hour in 300 buckets, which holds everything just published.
      const dflt = await getJson(d.httpUrl, '/devices/m-1/series?fields=v');
      expect(dflt.body.buckets).toBe(300);
      expect(dflt.body.to - dflt.body.from).toBe(3_600_000);
      expect(dflt.body.readings).toBe(20);

      const bad = async (q: string, status = 400, code = 'BAD_REQUEST'): Promise<void> => {
        const r = await getJson(d.httpUrl, q);
        expect({ q, status: r.status, code: r.body.error?.code, errno: typeof r.body.error?.errno, msg: typeof r.body.error?.message }).toEqual({
          q, status, code, errno: 'number', msg: 'string',
        });
      };
      await bad('/devices/m-1/series');
      await bad('/devices/m-1/series?fields=v&buckets=0');
      await bad('/devices/m-1/series?fields=v&buckets=5001');
      await bad('/devices/m-1/series?fields=v&from=10&to=5');
      await bad('/devices/m-1/series?fields=v&from=-1');
      await bad('/devices/m-1/series?fields=v&from=0&to=10&buckets=11');
      await bad('/devices/m-1/series?fields=v&from=abc');
      await bad('/devices/m-1/series?fields=v&extra=1');
      await bad('/devices/m-1/series?fields=,,');
      await bad(`/devices/m-1/series?fields=${Array.from({ length: 17 }, (_, i) => `f${i}`).join(',')}`);
      await bad('/devices/no-such-device/series?fields=v', 404, 'NOT_FOUND');
      await bad('/devices/bad%20id/series?fields=v');

      const ov = (await getJson(d.httpUrl, '/dashboard/overview')).body;
      expect(ov.counters).toMatchObject({ received: 22, acked: 22, stored: 20, rejected: 2, pending: 0, openInstances: 1 });
      expect(ov.counters.rejectedByReason).toEqual({ BAD_JSON: 1, BAD_DEVICE_ID: 1 });
      expect(ov.deadLetters.total).toBe(2);
      expect(ov.deadLetters.recent.map((x: { code: string }) => x.code).sort()).toEqual(['BAD_DEVICE_ID', 'BAD_JSON']);
      expect(ov.deadLetters.recent[0]).not.toHaveProperty('payload');
      expect(ov.sync).toBeNull();
      const fs = statfsSync(data);
      expect(ov.disk.path).toBe(data);
      expect(ov.disk.totalBytes).toBe(fs.blocks * fs.bsize);
      expect(ov.disk.freeBytes).toBeGreaterThan(0);
      expect(ov.disk.freeBytes).toBeLessThanOrEqual(ov.disk.totalBytes);
      expect(ov.sse).toMatchObject({ connected: 0, dropped: 0 });

      const page = await fetch(`${d.httpUrl}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('/dashboard/assets/app.js');
      for (const [file, type] of [['app.js', 'text/javascript'], ['app.css', 'text/css'], ['uPlot.iife.min.js', 'text/javascript'], ['uPlot.min.css', 'text/css']]) {
        const r = await fetch(`${d.httpUrl}/dashboard/assets/${file}`);
        expect({ file, status: r.status, type: r.headers.get('content-type')?.split(';')[0] }).toEqual({ file, status: 200, type });
        expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      }
      await bad('/dashboard/assets/..%2F..%2Fpackage.json', 404, 'NOT_FOUND');
      await bad('/dashboard/assets/index.html', 404, 'NOT_FOUND');
    } finally {
      await pub.endAsync();
      await d.kill('SIGKILL');
    }
  }, TIMEOUT);
});
