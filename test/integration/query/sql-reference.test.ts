/**
 * Every supported clause against SQLite as the independent reference: the same
 * readings (written with the real ingest model into real device instances) loaded
 * into SQLite, the same SQL run on both, answers compared; in both scan modes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { dataDirSource, runQuery, type ScanMode } from '../../../src/query/index.js';
import { FLEET_PATHS, sqliteReadings, writeFleet, type StoredReading } from '../../helpers/telemetry-data.js';
import { diffRows, sqliteRows } from '../../helpers/sql-compare.js';

const DEVICES = ['alpha-1', 'alpha-2', 'beta-1', 'beta-2', 'gamma.3', 'delta'];
const T0 = 1_764_000_000_000;
const N = 400;
let dir: string;
let db: Database.Database;
let rows: StoredReading[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-query-ref-'));
  rows = await writeFleet(dir, DEVICES, N, T0, 42);
  db = sqliteReadings(rows, FLEET_PATHS);
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const MID = T0 + 50 * 60_000;
const CASES: { name: string; sql: string; ordered: boolean }[] = [
  { name: 'one device, all columns named', sql: "SELECT device, ts, ptr, temp, hum, mode, \"env.p\", opt FROM readings WHERE device = 'beta-1' ORDER BY ts", ordered: true },
  { name: 'expressions and aliases', sql: 'SELECT device, ts, temp * 2 + 1 AS t2, -hum AS nh, hum % 7 AS m, "env.p" - 1000 AS dp FROM readings WHERE temp > 20 ORDER BY device, ts', ordered: true },
  { name: 'AND / OR / NOT', sql: "SELECT device, seq FROM readings WHERE (temp > 25 OR hum < 30) AND NOT device = 'delta' AND NOT (mode = 'eco')", ordered: false },
  { name: 'IN and NOT IN', sql: "SELECT device, seq, mode FROM readings WHERE device IN ('alpha-1', 'gamma.3', 'nope') AND mode NOT IN ('safe')", ordered: false },
  { name: 'BETWEEN on ts and a member', sql: `SELECT device, ts, temp FROM readings WHERE ts BETWEEN ${T0 + 600_000} AND ${MID} AND temp NOT BETWEEN 10 AND 30`, ordered: false },
  { name: 'LIKE on device and on text', sql: "SELECT device, seq FROM readings WHERE device LIKE 'alpha-%' AND mode LIKE '_o%'", ordered: false },
  { name: 'IS NULL / IS NOT NULL', sql: 'SELECT device, seq, opt FROM readings WHERE opt IS NULL OR (opt IS NOT NULL AND opt > 8)', ordered: false },
  { name: 'GROUP BY device: count/sum/avg/min/max', sql: 'SELECT device, count(*), count(opt), sum(hum), avg(temp), min(temp), max("env.p"), min(mode), max(mode) FROM readings GROUP BY device ORDER BY device', ordered: true },
  { name: 'GROUP BY time bucket', sql: `SELECT time_bucket(600000, ts) AS b, count(*), avg(hum), max(temp) FROM readings WHERE ts >= ${T0} AND ts < ${MID} GROUP BY b ORDER BY b`, ordered: true },
  { name: 'GROUP BY device and bucket, first/last', sql: 'SELECT device, time_bucket(900000, ts) AS b, first(temp), last(temp), first(opt), last(mode) FROM readings GROUP BY device, b ORDER BY device, b', ordered: true },
  { name: 'first/last over all devices', sql: 'SELECT first(seq), last(seq), first(device), last(device), count(*) FROM readings', ordered: true },
  { name: 'HAVING', sql: 'SELECT mode, device, count(*) AS n, avg(temp) AS a FROM readings GROUP BY mode, device HAVING count(*) > 130 AND avg(temp) > 15 ORDER BY mode, device', ordered: true },
  { name: 'HAVING on an alias', sql: 'SELECT device, max(hum) - min(hum) AS span FROM readings GROUP BY device HAVING span > 95 ORDER BY device', ordered: true },
  { name: 'ORDER BY DESC, several keys, LIMIT/OFFSET', sql: 'SELECT device, seq, temp FROM readings ORDER BY temp DESC, device, seq LIMIT 17 OFFSET 5', ordered: true },
  { name: 'ORDER BY position and NULLs', sql: 'SELECT opt, device, seq FROM readings WHERE seq < 20 ORDER BY 1, 2 DESC, 3', ordered: true },
  { name: 'aggregate over no rows', sql: "SELECT count(*), sum(temp), avg(temp), min(temp), first(temp) FROM readings WHERE device = 'nope'", ordered: true },
  { name: 'ts bounds, open and closed', sql: `SELECT device, count(*) FROM readings WHERE ts > ${T0 + 300_000} AND ts <= ${MID} AND ${T0 + 1000} < ts GROUP BY device ORDER BY device`, ordered: true },
  { name: 'ts equality', sql: `SELECT device, seq FROM readings WHERE ts = ${T0 + 15_000 * 10 + 2000}`, ordered: false },
  { name: 'GROUP BY an expression', sql: 'SELECT hum % 3 AS r, count(*), sum(temp) FROM readings GROUP BY hum % 3 ORDER BY r', ordered: true },
  { name: 'scalar functions', sql: "SELECT device, abs(temp - 20), round(temp, 1), upper(mode), length(device), coalesce(opt, -1) FROM readings WHERE seq < 5 ORDER BY device, seq", ordered: true },
];

describe('SQL answers equal SQLite on the same readings', () => {
  it('loaded the rows', () => {
    expect(rows.length).toBe(DEVICES.length * N);
  });
  for (const mode of ['batch', 'walk', 'get'] as ScanMode[]) {
    for (const c of CASES) {
      it(`${c.name} (${mode})`, async () => {
        const src = dataDirSource(dir);
        try {
          const ours = await runQuery(src, c.sql, { scan: mode });
          const theirs = sqliteRows(db, c.sql);
          expect(diffRows(ours.rows, theirs, c.ordered)).toBeUndefined();
          expect(ours.columns.length).toBe(theirs[0]?.length ?? ours.columns.length);
        } finally {
          await src.close();
        }
      });
    }
  }

  it('time_bucket widths in words equal widths in ms; ORDER BY without LIMIT', async () => {
    const src = dataDirSource(dir);
    try {
      const a = await runQuery(src, "SELECT device, time_bucket('15 minutes', ts) b, avg(temp) FROM readings GROUP BY device, b ORDER BY device, b");
      const b = await runQuery(src, 'SELECT device, time_bucket(900000, ts) b, avg(temp) FROM readings GROUP BY device, b ORDER BY device, b');
      expect(a.rows.length).toBeGreaterThan(DEVICES.length);
      expect(a.rows).toEqual(b.rows);
    } finally {
      await src.close();
    }
  });

  it('latest equals the last reported value per path; devices equals count/min/max per device', async () => {
    const src = dataDirSource(dir);
    try {
      const latest = await runQuery(src, 'SELECT device, ts, temp, opt, "env.p" FROM latest ORDER BY device');
      expect(diffRows(latest.rows, sqliteRows(db, 'SELECT device, max(ts), last(temp), last(opt), last("env.p") FROM readings GROUP BY device ORDER BY device'), true)).toBeUndefined();
      const devices = await runQuery(src, 'SELECT device, reading_count, first_seen, last_seen, latest_ts FROM devices ORDER BY device');
      expect(diffRows(devices.rows, sqliteRows(db, 'SELECT device, count(*), min(ts), max(ts), max(ts) FROM readings GROUP BY device ORDER BY device'), true)).toBeUndefined();
      expect(devices.columns.map((x) => x.type)).toEqual(['text', 'int', 'int', 'int', 'int']);
    } finally {
      await src.close();
    }
  });

  it('parameters $1… bind values', async () => {
    const src = dataDirSource(dir);
    try {
      const r = await runQuery(src, 'SELECT device, count(*) FROM readings WHERE device = $1 AND temp > $2 GROUP BY device', { params: ['beta-2', 30] });
      expect(diffRows(r.rows, sqliteRows(db, 'SELECT device, count(*) FROM readings WHERE device = ? AND temp > ? GROUP BY device', ['beta-2', 30]), true)).toBeUndefined();
      expect(r.rows.length).toBe(1);
    } finally {
      await src.close();
    }
  });

  it('the plan opens only the named instances and walks only the ts range', async () => {
    const src = dataDirSource(dir);
    try {
      const r = await runQuery(src, `SELECT count(*) FROM readings WHERE device IN ('alpha-2', 'delta') AND ts >= ${MID}`);
      const expected = rows.filter((x) => (x.device === 'alpha-2' || x.device === 'delta') && x.ts >= MID).length;
      expect(r.rows).toEqual([[expected]]);
      expect(r.stats.instances).toBe(2);
      expect(r.stats.rowsScanned).toBe(expected);
      const plan = (await runQuery(src, `EXPLAIN SELECT avg(temp) FROM readings WHERE device IN ('alpha-2', 'delta') AND ts >= ${MID}`)).rows.map((x) => String(x[0]));
      expect(plan).toContain('instances: 2 of 6 device instances (device = / IN (2 named)): alpha-2, delta');
      const inRange = rows.filter((x) => x.device === 'delta' && x.ts >= MID);
      const deltaLine = plan.find((l) => l.startsWith('  delta: readings set '));
      expect(deltaLine).toContain(`reading pointers ${inRange[0]?.ptr} … ${inRange[inRange.length - 1]?.ptr}`);
      expect(plan.some((l) => l.startsWith('members read per reading: temp'))).toBe(true);
      const one = await runQuery(src, "SELECT avg(temp) FROM readings WHERE device = 'delta'");
      expect(one.stats.instances).toBe(1);
      expect(one.stats.valuesRead).toBe(N);
    } finally {
      await src.close();
    }
  });
});
