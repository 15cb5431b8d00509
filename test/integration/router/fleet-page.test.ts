/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The router's fleet page in real headless Chromium (Debian's `chromium`) against an
 * in-process router (two data nodes, API tokens on) fed by a real gateway ingest
 * pipeline's batches: the `/?token=` login works on the router, the page loads without
 * console errors, lists the gateway, both data nodes and the synced devices (search
 * filters them), and charts a known range — bucketed by `POST /query` when the browser
 * sends the token as a header, from the raw readings when it holds only the login
 * cookie; a device synced later appears without a reload. Screenshots go to `<test temp dir>/screenshots/` (with
 * LMJ_DASHBOARD_SCREENSHOTS=DIR also copied there).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../../src/http/api-tokens.js';
import { startRouter } from '../../../src/router/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { CHROMIUM, collectErrors, pngSize } from '../../helpers/browser.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { gatewayRecords, ingestor, postBatch, publish, silent, tokensFile } from '../sync/helpers.js';

const DEVICES = ['boiler-room', 'cold-store-1', 'cold-store-2', 'line-7', 'pump-north'];
const BUCKETS = 12;

/** Filled buckets of `ts` as the page computes them: aligned to bucketMs (SQL) or to `from` (raw). */
function filledBuckets(ts: number[], from: number, to: number, aligned: boolean): { buckets: number; filled: number } {
  const bucketMs = Math.max(1, Math.ceil((to - from) / BUCKETS));
  const start = aligned ? Math.floor(from / bucketMs) * bucketMs : from;
  const buckets = aligned ? Math.ceil((to - start) / bucketMs) : BUCKETS;
  return { buckets, filled: new Set(ts.map((t) => Math.min(buckets - 1, Math.floor((t - start) / bucketMs)))).size };
}

/** Opens the known range of line-7 and returns the chart's x length, filled avg points and total count. */
async function chartOf(page: Page, base: string, from: number, to: number): Promise<{ sql: boolean; x: number; avg: number; total: number }> {
  await page.goto(`${base}/#/d/line-7?from=${from}&to=${to}&buckets=${BUCKETS}&fields=temp`);
  await page.waitForFunction(() => (window as any).lmjFleet.charts.size === 1 && (window as any).lmjFleet.series !== null);
  return page.evaluate(() => {
    const s = (window as any).lmjFleet;
    const u = s.charts.get('temp');
    return { sql: s.fleet.sql, x: u.data[0].length, avg: u.data[2].filter((v: unknown) => v !== null).length, total: s.series.fields.temp.count.reduce((a: number, b: number) => a + b, 0) };
  });
}

describe('router fleet page in Chromium', () => {
  it('logs in with /?token=, lists gateways, nodes and synced devices, and charts a known range both ways', async () => {
    const dir = tmpDir();
    const shots = join(dir, 'screenshots');
    mkdirSync(shots);
    const apiFile = join(dir, 'api-tokens.json');
    const token = createApiToken(apiFile, 'read').token;
    const r = await startRouter({ dataDir: join(dir, 'router'), httpPort: 0, tokensFile: tokensFile(join(dir, 'gw-tokens')), apiTokensFile: apiFile, authFailuresPerMinute: 1000, nodes: 2, durability: 'fast', log: silent });
    const base = `http://127.0.0.1:${r.http.port}`;
    let browser: Browser | undefined;
    try {
      const gw = await ingestor(join(dir, 'gw'));
      for (const id of DEVICES) if (id !== 'line-7') await publish(gw, id, 0, 3);
      // line-7: 12 rounds of 5, each round on a later millisecond, so the range spreads over the buckets.
      for (let round = 0; round < 12; round++) {
        await publish(gw, 'line-7', round * 5, 5);
        const t = Date.now();
        while (Date.now() < t + 2) await new Promise((resolve) => setImmediate(resolve));
      }
      await publish(gw, 'roof-weather', 0, 2);
      const devices = [];
      for (const id of DEVICES) devices.push({ deviceId: id, records: await gatewayRecords(gw, id) });
      const later = await gatewayRecords(gw, 'roof-weather');
      await gw.close();
      const up = await postBatch(r, encodeBatch({ gatewayId: 'gw-1', seq: 1, devices }));
      expect(up.status).toBe(200);
      const res = await request(`${base}/devices/line-7/readings?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
      const ts = ((await res.body.json()) as { readings: { ts: number }[] }).readings.map((x) => x.ts);
      expect(ts).toHaveLength(60);
      const from = Math.min(...ts);
      const to = Math.max(...ts) + 1;
      expect(new Set(ts).size).toBeGreaterThanOrEqual(12);

      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      // Cookie login, as an operator opens the link `lmj-edge token create` printed.
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors = collectErrors(page);
      await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
      expect(new URL(page.url()).search).toBe('');
      await page.waitForSelector('#device-list li[data-id="line-7"]');
      expect(await page.locator('#device-list li').count()).toBe(DEVICES.length);
      await page.fill('#search', 'cold');
      expect(await page.locator('#device-list li:visible').count()).toBe(2);
      await page.fill('#search', '');
      await page.waitForSelector('#gateways tr[data-id="gw-1"]');
      expect(await page.locator('#gateways tr[data-id="gw-1"] td').nth(3).textContent()).toBe(String(60 + 3 * (DEVICES.length - 1)));
      expect(await page.locator('#nodes tbody tr').count()).toBe(2);
      expect(await page.locator('#nodes tbody td.ok').count()).toBe(2);
      expect(await page.textContent('#t-devices')).toBe(String(DEVICES.length));

      const raw = await chartOf(page, base, from, to);
      const rawWant = filledBuckets(ts, from, to, false);
      expect(raw).toEqual({ sql: false, x: rawWant.buckets, avg: rawWant.filled, total: 60 });
      await page.waitForSelector('#latest tr[data-path="temp"]');
      await page.screenshot({ path: join(shots, 'fleet.png'), fullPage: true });

      // With the token as a header the page may use POST /query: buckets from the server.
      const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
      const phone = await ctx.newPage();
      const phoneErrors = collectErrors(phone);
      const sql = await chartOf(phone, base, from, to);
      const sqlWant = filledBuckets(ts, from, to, true);
      expect(sql).toEqual({ sql: true, x: sqlWant.buckets, avg: sqlWant.filled, total: 60 });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await phone.screenshot({ path: join(shots, 'fleet-phone.png'), fullPage: true });

      // Live: a device synced now appears by the next poll (every 5 s), without a reload.
      expect((await postBatch(r, encodeBatch({ gatewayId: 'gw-1', seq: 2, devices: [{ deviceId: 'roof-weather', records: later }] }))).status).toBe(200);
      await phone.waitForSelector('#device-list li[data-id="roof-weather"]', { timeout: 10_000 });
      await phone.waitForFunction((n) => document.querySelector('#gateways tr[data-id="gw-1"] td:nth-child(3)')?.textContent === String(n), 2);
      expect(await phone.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);

      expect(pngSize(join(shots, 'fleet.png')).width).toBe(1280);
      expect(pngSize(join(shots, 'fleet-phone.png')).width).toBe(780);
      expect(errors).toEqual([]);
      expect(phoneErrors).toEqual([]);
      const keep = process.env.LMJ_DASHBOARD_SCREENSHOTS;
      if (keep !== undefined) {
        mkdirSync(keep, { recursive: true });
        copyFileSync(join(shots, 'fleet.png'), join(keep, 'fleet.png'));
        copyFileSync(join(shots, 'fleet-phone.png'), join(keep, 'fleet-phone.png'));
      }
    } finally {
      await browser?.close();
      await r.stop();
    }
  }, 60_000);
});
