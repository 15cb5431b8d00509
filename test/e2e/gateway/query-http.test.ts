/**
 * `POST /query` on the compiled daemon: readings published over MQTT at QoS 1 and
 * queried over HTTP, compared with the library over the same data directory and with
 * SQLite over the published values; NDJSON streaming; errors with positions and
 * limits; pseudo-tables through the daemon; ingest keeps acking during a heavy query.
 */
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { dataDirSource, runQuery } from '../../../src/query/index.js';
import { startDaemon } from '../../helpers/daemon.js';
import { diffRows, sqliteRows } from '../../helpers/sql-compare.js';
import { writeReadings } from '../../helpers/telemetry-data.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { getText } from './http-client.js';

async function postQuery(base: string, body: unknown, accept = 'application/json'): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${base}/query`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function queryJson(base: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await postQuery(base, body);
  return { status: r.status, body: JSON.parse(r.text) };
}

describe('POST /query on the daemon', () => {
  it('answers like the library and SQLite, streams NDJSON, and refuses bad SQL and limits', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data, args: ['--durability', 'fast', '--query-max-rows', '5000'] });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'q-pub', reconnectPeriod: 0 });
    c.on('error', () => {});
    const db = new Database(':memory:');
    db.exec('CREATE TABLE readings (device TEXT, seq INT, temp REAL)');
    const ins = db.prepare('INSERT INTO readings VALUES (?, ?, ?)');
    // 200 publishes in flight at a time (one connection keeps their order): every one is acked before the queries.
    for (let from = 0; from < 500; from += 50) {
      const acks: Promise<unknown>[] = [];
      for (let seq = from; seq < from + 50; seq++) {
        for (const dev of ['q-1', 'q-2', 'q-3', 'q-4']) {
          const temp = ((seq * 7 + dev.charCodeAt(2) * 13) % 100) / 4;
          acks.push(c.publishAsync(`devices/${dev}/telemetry`, JSON.stringify({ temp, seq }), { qos: 1 }));
          ins.run(dev, seq, temp);
        }
      }
      await Promise.all(acks);
    }
    c.end(true);
    const sql = 'SELECT device, count(*) AS n, avg(temp) AS a, max(temp) AS m, sum(seq) AS s FROM readings WHERE temp > 3 GROUP BY device ORDER BY device';
    const http = await queryJson(d.httpUrl, { sql });
    expect(http.status).toBe(200);
    expect(http.body.columns.map((col: { name: string }) => col.name)).toEqual(['device', 'n', 'a', 'm', 's']);
    expect(http.body.rows).toHaveLength(4);
    expect(diffRows(http.body.rows, sqliteRows(db, sql), true)).toBeUndefined();
    const lib = dataDirSource(data);
    try {
      const direct = await runQuery(lib, sql);
      expect(http.body.rows).toEqual(direct.rows);
      expect(http.body.columns).toEqual(direct.columns);

      // NDJSON: the header line, then one row per line, equal to the JSON answer (2000 rows > one 64 KiB chunk).
      const all = 'SELECT device, ts, ptr, temp, seq FROM readings ORDER BY device, seq';
      const nd = await postQuery(d.httpUrl, { sql: all }, 'application/x-ndjson');
      expect(nd.status).toBe(200);
      expect(nd.type).toContain('application/x-ndjson');
      expect(nd.text.length).toBeGreaterThan(128 * 1024);
      const lines = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines[0]).toEqual({ columns: (await runQuery(lib, all)).columns });
      expect(lines.slice(1)).toEqual((await runQuery(lib, all, { limits: { maxRows: 5000 } })).rows);
      expect(lines).toHaveLength(2001);
    } finally {
      await lib.close();
    }

    // Bad SQL: 400 with the position in details and the message.
    const bad = await queryJson(d.httpUrl, { sql: 'SELECT device,\n  avg(temp FROM readings' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('SQL_SYNTAX');
    expect(bad.body.error.errno).toBe(-33600);
    expect(bad.body.error.details.position.line).toBe(2);
    expect(bad.body.error.message).toMatch(/at line 2, column \d+/);
    const refused = await queryJson(d.httpUrl, { sql: 'SELECT DISTINCT device FROM readings' });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'SQL_UNSUPPORTED']);
    const schema = await queryJson(d.httpUrl, { sql: 'SELECT 1', extra: true });
    expect([schema.status, schema.body.error.code]).toEqual([400, 'BAD_REQUEST']);
    const badParam = await queryJson(d.httpUrl, { sql: 'SELECT $1', params: [{ a: 1 }] });
    expect([badParam.status, badParam.body.error.code, badParam.body.error.message]).toEqual([400, 'BAD_REQUEST', 'bad request: params[0] must be a string, number, boolean or null']);
    const noSql = await queryJson(d.httpUrl, { params: [1] });
    expect([noSql.status, noSql.body.error.code]).toEqual([400, 'BAD_REQUEST']);

    // Limits: the request may lower maxRows; the config (--query-max-rows 5000) caps it.
    const lowered = await queryJson(d.httpUrl, { sql: 'SELECT device, seq FROM readings', maxRows: 10 });
    expect([lowered.status, lowered.body.error.code, lowered.body.error.details.limit]).toEqual([422, 'QUERY_LIMIT', 'maxRows']);
    const capped = await queryJson(d.httpUrl, { sql: 'SELECT device, seq FROM readings WHERE seq >= $1', params: [0], maxRows: 100_000 });
    expect(capped.status).toBe(200);
    expect(capped.body.rows).toHaveLength(2000);
    const params = await queryJson(d.httpUrl, { sql: 'SELECT count(*) FROM readings WHERE device = $1 AND seq < $2', params: ['q-2', 10] });
    expect(params.body.rows).toEqual([[10]]);

    // Pseudo-tables go through the daemon's one open DIR/tables environment.
    expect((await queryJson(d.httpUrl, { sql: 'CREATE TABLE sites (id text primary key, n int)' })).body.rows).toEqual([[1]]);
    expect((await queryJson(d.httpUrl, { sql: "INSERT INTO sites VALUES ('a', 1), ('b', 2)" })).body.rows).toEqual([[2]]);
    expect((await queryJson(d.httpUrl, { sql: 'SELECT id, n FROM sites ORDER BY id' })).body.rows).toEqual([['a', 1], ['b', 2]]);
    const dup = await queryJson(d.httpUrl, { sql: "INSERT INTO sites VALUES ('a', 3)" });
    expect([dup.status, dup.body.error.code]).toEqual([400, 'CONSTRAINT_FAILED']);

    const metrics = await getText(d.httpUrl, '/metrics');
    expect(metrics).toMatch(/lmj_query_total\{outcome="ok"\} 7\b/);
    expect(metrics).toMatch(/lmj_query_total\{outcome="SQL_SYNTAX"\} 1\b/);
    expect(metrics).toMatch(/lmj_query_total\{outcome="QUERY_LIMIT"\} 1\b/);
    expect(Number(/lmj_query_rows_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4 + 2000 + 2000);
    expect(metrics).toMatch(/lmj_query_duration_seconds_count \d+/);
    await d.kill('SIGTERM');
  }, 180_000);

  it('keeps acking QoS 1 publishes while a heavy query scans', async () => {
    const data = tmpDir();
    // 100 instances × 1,000 readings written before the start; the daemon lists them from disk.
    const devices = Array.from({ length: 100 }, (_, i) => `h-${String(i).padStart(3, '0')}`);
    for (const dev of devices) {
      await writeReadings(data, dev, Array.from({ length: 1000 }, (_, i) => ({ payload: { temp: i % 50, hum: i % 7, seq: i }, receivedAt: 1_700_000_000_000 + i * 1000 })));
    }
    const d = await startDaemon({ dataDir: data, args: ['--durability', 'fast'] });
    // The registry learns instances written behind its back in the background (reconcile): wait until all are listed.
    for (;;) {
      const n = await queryJson(d.httpUrl, { sql: 'SELECT count(*) FROM devices' });
      if (n.body.rows[0][0] === devices.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'q-heavy', reconnectPeriod: 0 });
    c.on('error', () => {});
    let answered = false;
    const heavy = queryJson(d.httpUrl, { sql: 'SELECT count(*), avg(temp), max(hum) FROM readings WHERE temp >= 0' }).finally(() => (answered = true));
    // Publish one message at a time until the query answers; count the acks received meanwhile.
    let acksDuringQuery = 0;
    while (!answered) {
      await c.publishAsync('devices/live-1/telemetry', JSON.stringify({ n: acksDuringQuery }), { qos: 1 });
      if (!answered) acksDuringQuery++;
    }
    const r = await heavy;
    expect(r.status).toBe(200);
    expect(r.body.rows[0][0]).toBe(100_000);
    // Without yielding between instances the scan holds the event loop for the whole query: no ack in between.
    expect(acksDuringQuery).toBeGreaterThanOrEqual(3);
    c.end(true);
    await d.kill('SIGTERM');
  }, 300_000);
});
