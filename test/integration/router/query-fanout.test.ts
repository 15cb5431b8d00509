/**
 * The router's `POST /query` over real HTTP: a gateway (real ingestor + uplink) syncs
 * devices spread by partition over three in-process data nodes; GROUP BY / avg,
 * time buckets, ORDER BY + LIMIT and `SELECT *` on the router equal the same query on
 * the gateway. With one node's data directory gone (router restarted), the answer
 * is the other nodes' rows flagged partial, with the failed node named.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonQuerySource } from '../../../src/gateway/http/query-source.js';
import { runQuery } from '../../../src/query/index.js';
import type { Router } from '../../../src/router/index.js';
import { startSync } from '../../../src/sync/index.js';
import { diffRows } from '../../helpers/sql-compare.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, ingestor, router, silent, tokensFile } from '../sync/helpers.js';
import { startRouter } from '../../../src/router/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function post(r: Router, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${r.http.port}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const DEVICES = Array.from({ length: 12 }, (_, i) => `fan-${i}`);
const QUERIES = [
  'SELECT device, count(*) AS n, avg(temp) AS a, min(seq) AS lo, max(seq) AS hi FROM readings GROUP BY device ORDER BY device',
  'SELECT count(*), avg(temp), sum(seq), first(seq), last(seq) FROM readings',
  "SELECT time_bucket('10 s', ts) AS b, avg(temp) FROM readings WHERE device LIKE 'fan-1%' GROUP BY b ORDER BY b",
  'SELECT device, ts, seq FROM readings WHERE temp > 20.5 ORDER BY seq DESC, device LIMIT 7',
  'SELECT * FROM readings ORDER BY device, ts LIMIT 20',
];

describe('router POST /query across data nodes', () => {
  it('equals the gateway answer; one node unavailable gives a partial answer naming it', async () => {
    const gwDir = tmpDir();
    const rDir = tmpDir();
    let r = await router(rDir, 3);
    let rUp = true;
    cleanups.push(async () => rUp && r.stop());
    const spread = new Set(DEVICES.map((id) => r.nodes.nodeOf(id).id));
    expect(spread.size).toBeGreaterThanOrEqual(2);

    let sync: ReturnType<typeof startSync> | undefined;
    const ing = await ingestor(gwDir, { result: (res) => res.status === 'stored' && sync?.onStored(res.deviceId, res.ts) });
    sync = startSync({ dataDir: gwDir, durable: false, devices: ing }, { upstream: `http://127.0.0.1:${r.http.port}`, token: TOKEN, gatewayId: 'gw-1', batchDelayMs: 5 });
    const s = sync;
    const gwSource = daemonQuerySource(ing, gwDir, 'fast');
    cleanups.push(async () => {
      s.releaseGate();
      await s.close();
      await ing.close();
      await gwSource.close();
    });
    const t0 = 1_760_000_000_000;
    for (const [k, id] of DEVICES.entries()) {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          ing.submit({ topic: `devices/${id}/telemetry`, payload: Buffer.from(JSON.stringify({ seq: i, temp: 20 + ((i * 3 + k) % 10) / 10 })), qos: 1, receivedAt: t0 + i * 3000 + k }),
        ),
      );
      expect(results.every((x) => x.status === 'stored')).toBe(true);
    }
    const total = DEVICES.length * 40;
    for (;;) {
      const c = await post(r, { sql: 'SELECT count(*) FROM readings' });
      if (c.status === 200 && c.body.rows[0][0] === total) break;
      await new Promise((res) => setTimeout(res, 20));
    }

    for (const sql of QUERIES) {
      const want = await runQuery(gwSource, sql);
      expect(want.rows.length).toBeGreaterThan(0);
      const got = await post(r, { sql });
      expect(got.status, sql).toBe(200);
      expect(got.body.partial, sql).toBeUndefined();
      expect(got.body.columns, sql).toEqual(want.columns);
      // Sums are added in another order across nodes: equal up to float rounding.
      expect(diffRows(got.body.rows, want.rows, true), sql).toBeUndefined();
    }
    const bad = await post(r, { sql: 'SELECT avg(temp FROM readings' });
    expect([bad.status, bad.body.error.code, typeof bad.body.error.details.position.column]).toEqual([400, 'SQL_SYNTAX', 'number']);
    const limited = await post(r, { sql: 'SELECT device, seq FROM readings', maxRows: 5 });
    expect([limited.status, limited.body.error.code]).toEqual([422, 'QUERY_LIMIT']);

    // node-1's data directory disappears (an unmounted disk): the router restarts without it.
    await r.stop();
    rUp = false;
    const gone = r.table.nodes().find((n) => n.id === 'node-1')!;
    renameSync(join(rDir, gone.dir), join(rDir, `${gone.dir}-gone`));
    r = await startRouter({ dataDir: rDir, httpPort: 0, tokensFile: tokensFile(rDir), durability: 'fast', log: silent });
    rUp = true;
    const onOthers = DEVICES.filter((id) => r.nodes.nodeOf(id).id !== 'node-1');
    expect(onOthers.length).toBeGreaterThan(0);
    expect(onOthers.length).toBeLessThan(DEVICES.length);
    const sql = QUERIES[0] as string;
    const got = await post(r, { sql });
    expect(got.status).toBe(200);
    expect(got.body.partial).toBe(true);
    expect(got.body.failed).toHaveLength(1);
    expect(got.body.failed[0].node).toBe('node-1');
    expect(got.body.failed[0].error.code).toBe('DEVICE_UNAVAILABLE');
    const inList = onOthers.map((id) => `'${id}'`).join(', ');
    const want = await runQuery(gwSource, sql.replace('GROUP BY', `WHERE device IN (${inList}) GROUP BY`));
    expect(want.rows).toHaveLength(onOthers.length);
    expect(diffRows(got.body.rows, want.rows, true)).toBeUndefined();
    // NDJSON: the header line carries the partial flag and the failed node.
    const nd = await fetch(`http://127.0.0.1:${r.http.port}/query`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify({ sql }) });
    const lines = (await nd.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ columns: want.columns, partial: true, failed: [{ node: 'node-1', error: { code: 'DEVICE_UNAVAILABLE' } }] });
    expect(diffRows(lines.slice(1), want.rows, true)).toBeUndefined();
    const metrics = await (await fetch(`http://127.0.0.1:${r.http.port}/metrics`)).text();
    expect(metrics).toMatch(/lmj_query_total\{outcome="partial"\} 2\b/);
    const write = await post(r, { sql: 'CREATE TABLE t (a int)' });
    expect([write.status, write.body.error.code]).toEqual([400, 'SQL_UNSUPPORTED']);
  }, 120_000);
});
