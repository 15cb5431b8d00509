/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in real headless Chromium (Debian's `chromium`) against the compiled
 * daemon fed by a real MQTT publisher: the page loads without console errors, a
 * published reading appears without a reload, the chart holds the requested buckets
 * of a known range, and screenshots are written (desktop and phone).
 *
 * Screenshots go to `<test temp dir>/screenshots/`; with LMJ_DASHBOARD_SCREENSHOTS=DIR
 * they are also copied there (docs/img/dashboard.png is refreshed that way).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, collectErrors, pngSize } from '../../helpers/browser.js';
import { startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getJson } from './http-client.js';

const TIMEOUT = 180_000;

async function publishFleet(pub: MqttClient): Promise<void> {
  const ids = ['boiler-room', 'cold-store-1', 'cold-store-2', 'pump-north', 'pump-south', 'roof-weather'];
  for (const [k, id] of ids.entries()) {
    await pub.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ env: { temp: 4 + k * 3.1, hum: 40 + k }, volt: 3.3, seq: 1 }), { qos: 1 });
  }
  await pub.publishAsync('devices/pump-north/telemetry', '{"env":', { qos: 1 });
  await pub.publishAsync('site/unknown/topic', '{}', { qos: 1 });
}

describe('dashboard in Chromium', () => {
  it(
    'loads cleanly, shows live readings without reload, charts a known range, and renders on a phone',
    async () => {
      const dir = tmpDir();
      const shots = join(dir, 'screenshots');
      mkdirSync(shots);
      const d = await startDaemon({ dataDir: join(dir, 'data') });
      const pub = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'dash-pub' });
      let browser: Browser | undefined;
      try {
        await publishFleet(pub);
        // A known range: 60 readings of a wave, spaced so they spread over the buckets.
        for (let i = 0; i < 60; i++) {
          await pub.publishAsync('devices/line-7/telemetry', JSON.stringify({ env: { temp: 20 + 5 * Math.sin(i / 6), hum: 50 + 10 * Math.cos(i / 9) }, seq: i }), { qos: 1 });
          await new Promise((r) => setTimeout(r, 15));
        }
        const ts = (await allReadings(d.httpUrl, 'line-7')).map((r) => r.ts);
        expect(ts).toHaveLength(60);
        const from = ts[0]!;
        const to = ts[59]! + 1;
        const buckets = 24;
        const expectedFilled = new Set(ts.map((t) => Math.min(buckets - 1, Math.floor(((t - from) * buckets) / (to - from))))).size;

        browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors = collectErrors(page);
        await page.goto(`${d.httpUrl}/`);
        await page.waitForSelector('#device-list li[data-id="line-7"]');
        expect(await page.locator('#device-list li').count()).toBe(7);
        // Search filters the list.
        await page.fill('#search', 'cold');
        expect(await page.locator('#device-list li:visible').count()).toBe(2);
        await page.fill('#search', '');

        // The chart of the known range holds exactly the requested buckets.
        await page.goto(`${d.httpUrl}/#/d/line-7?from=${from}&to=${to}&buckets=${buckets}&fields=env.temp,env.hum`);
        await page.waitForFunction(() => (window as any).lmjDashboard.charts.size === 2);
        const chart = await page.evaluate(() => {
          const s = (window as any).lmjDashboard;
          const u = s.charts.get('env.temp');
          return { x: u.data[0].length, avg: u.data[2].filter((v: unknown) => v !== null).length, counts: s.series.fields['env.temp'].count };
        });
        expect(chart.x).toBe(buckets);
        expect(chart.avg).toBe(expectedFilled);
        expect(chart.counts.reduce((a: number, b: number) => a + b, 0)).toBe(60);
        // Overview tiles were filled from the event stream or the first fetch.
        await page.waitForFunction(() => document.getElementById('t-open')?.textContent !== '–');
        await page.waitForSelector('#rejects td.code');
        expect(await page.locator('#rejects td.code').allTextContents()).toEqual(expect.arrayContaining(['BAD_JSON', 'BAD_TOPIC']));
        expect(await page.locator('#deadletters tbody tr').count()).toBe(2);
        await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

        // Live: a reading published now appears within 2 s, without a reload (the spec's bound).
        await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live');
        const marker = 424242.5;
        await pub.publishAsync('devices/line-7/telemetry', JSON.stringify({ env: { temp: 21 }, marker }), { qos: 1 });
        await page.waitForFunction(
          (m) => [...document.querySelectorAll('#latest td')].some((td) => td.textContent === String(m)),
          marker,
          { timeout: 2000 },
        );
        // A device never seen before appears in the list, also within 2 s.
        await pub.publishAsync('devices/new-sensor/telemetry', JSON.stringify({ v: 1 }), { qos: 1 });
        await page.waitForSelector('#device-list li[data-id="new-sensor"]', { timeout: 2000 });
        expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);

        // Phone: one column, nothing wider than the screen.
        const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
        const phoneErrors = collectErrors(phone);
        await phone.goto(`${d.httpUrl}/#/d/line-7?from=${from}&to=${to}&buckets=${buckets}&fields=env.temp`);
        await phone.waitForFunction(() => (window as any).lmjDashboard.charts.size === 1);
        const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await phone.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });

        expect(pngSize(join(shots, 'dashboard.png')).width).toBe(1280);
        expect(pngSize(join(shots, 'dashboard-phone.png')).width).toBe(780);
        expect(errors).toEqual([]);
        expect(phoneErrors).toEqual([]);
        const keep = process.env.LMJ_DASHBOARD_SCREENSHOTS;
        if (keep !== undefined) {
          mkdirSync(keep, { recursive: true });
          copyFileSync(join(shots, 'dashboard.png'), join(keep, 'dashboard.png'));
          copyFileSync(join(shots, 'dashboard-phone.png'), join(keep, 'dashboard-phone.png'));
        }
        expect((await getJson(d.httpUrl, '/healthz')).status).toBe(200);
      } finally {
        await browser?.close();
        await pub.endAsync();
        await d.kill('SIGKILL');
      }
    },
    TIMEOUT,
  );
});
