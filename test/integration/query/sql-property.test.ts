/**
 * Generated queries (seeded) over generated readings, each compared with SQLite; the
 * scatter-gather merge (partials of disjoint device subsets merged) compared with the
 * query over all devices; and the `walk` scan over readings whose pointers are not in
 * time order, with foreign objects between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { getCodec } from '../../../src/codec/index.js';
import { openStore } from '../../../src/core/index.js';
import { applyRecords, exportRecords, encodeElement, TS_MEMBER, type ReadingRecord } from '../../../src/core/telemetry/index.js';
import { cborUint } from '../../../src/core/telemetry/values.js';
import { dataDirSource, prepareQuery, runQuery, type QuerySource } from '../../../src/query/index.js';
import { FLEET_PATHS, rng, sqliteReadings, writeFleet, type StoredReading } from '../../helpers/telemetry-data.js';
import { diffRows, sqliteRows } from '../../helpers/sql-compare.js';

const DEVICES = ['p-1', 'p-2', 'p-3', 'q-1', 'q-2'];
const T0 = 1_764_100_000_000;
const N = 300;

let dir: string;
let db: Database.Database;
let rows: StoredReading[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-query-prop-'));
  rows = await writeFleet(dir, DEVICES, N, T0, 7);
  db = sqliteReadings(rows, FLEET_PATHS);
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function generator(seed: number): () => string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const num = ['temp', 'hum', 'opt', 'seq', '"env.p"'];
  const konst: Record<string, () => number> = {
    temp: () => Math.round(r() * 40), hum: () => Math.round(r() * 100), opt: () => Math.round(r() * 10),
    seq: () => Math.round(r() * N), '"env.p"': () => 950 + Math.round(r() * 100),
  };
  const atom = (): string => {
    const k = Math.floor(r() * 9);
    const c = pick(num);
    const v = (konst[c] as () => number)();
    if (k <= 2) return `${c} ${pick(['=', '<>', '<', '<=', '>', '>='])} ${v}`;
    if (k === 3) return `ts ${pick(['>=', '<', '>', '<='])} ${T0 + Math.round(r() * N * 15_000)}`;
    if (k === 4) return `device ${pick(['=', '<>'])} '${pick(DEVICES)}'`;
    if (k === 5) return `device ${r() < 0.3 ? 'NOT ' : ''}IN ('${pick(DEVICES)}', '${pick(DEVICES)}')`;
    if (k === 6) return `${c} ${r() < 0.3 ? 'NOT ' : ''}BETWEEN ${v} AND ${v + (konst[c] as () => number)()}`;
    if (k === 7) return `opt IS ${r() < 0.5 ? 'NOT ' : ''}NULL`;
    return `${pick(['mode', 'device'])} LIKE '${pick(['e%', '%o%', 'p-_', '_oost', 'q%'])}'`;
  };
  const cond = (depth: number): string => {
    if (depth === 0 || r() < 0.4) return r() < 0.15 ? `NOT (${atom()})` : atom();
    return `(${cond(depth - 1)} ${pick(['AND', 'OR'])} ${cond(depth - 1)})`;
  };
  return () => {
    const where = r() < 0.85 ? ` WHERE ${cond(2)}` : '';
    if (r() < 0.55) {
      const keys = ['device', 'mode', 'time_bucket(600000, ts)'].filter(() => r() < 0.5);
      const aggs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
        const f = pick(['count', 'sum', 'avg', 'min', 'max', 'first', 'last']);
        return f === 'count' && r() < 0.5 ? 'count(*)' : `${f}(${pick([...num, 'mode'].filter((x) => f !== 'sum' && f !== 'avg' ? true : x !== 'mode'))})`;
      });
      const having = keys.length > 0 && r() < 0.3 ? ` HAVING count(*) > ${Math.floor(r() * 40)}` : '';
      const group = keys.length > 0 ? ` GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}` : '';
      return `SELECT ${[...keys, ...aggs].join(', ')} FROM readings${where}${group.replace(' ORDER BY', having + ' ORDER BY')}`;
    }
    const cols = ['device', 'seq', ...num.filter(() => r() < 0.4), ...(r() < 0.3 ? ['mode'] : [])];
    const desc = r() < 0.3 ? ' DESC' : '';
    const limit = r() < 0.5 ? ` LIMIT ${Math.floor(r() * 50)} OFFSET ${Math.floor(r() * 20)}` : '';
    return `SELECT ${cols.join(', ')} FROM readings${where} ORDER BY device${desc}, seq${limit}`;
  };
}

describe('generated queries equal SQLite', () => {
  it('200 seeded queries, both scan modes', async () => {
    const next = generator(2026);
    const src = dataDirSource(dir);
    let nonEmpty = 0;
    try {
      for (let i = 0; i < 200; i++) {
        const sql = next();
        const ours = await runQuery(src, sql, { scan: (['batch', 'walk', 'get'] as const)[i % 3] });
        const diff = diffRows(ours.rows, sqliteRows(db, sql), true);
        expect(diff, sql).toBeUndefined();
        if (ours.rows.length > 0) nonEmpty++;
      }
    } finally {
      await src.close();
    }
    // The generator must mostly produce queries that select something.
    expect(nonEmpty).toBeGreaterThan(120);
  }, 240_000);
});

function subset(base: QuerySource, ids: readonly string[]): QuerySource {
  return { listDevices: async () => ids, readDevice: (id, fn) => (ids.includes(id) ? base.readDevice(id, fn) : Promise.resolve(undefined)) };
}

describe('scatter-gather: merged partials equal the query over everything', () => {
  const QUERIES = [
    'SELECT device, count(*), sum(hum), avg(temp), min(temp), max(mode), first(seq), last(seq) FROM readings GROUP BY device ORDER BY device',
    "SELECT time_bucket(900000, ts) AS b, count(*), avg(\"env.p\"), first(device), last(device) FROM readings WHERE mode <> 'eco' GROUP BY b HAVING count(*) > 10 ORDER BY b DESC LIMIT 5",
    'SELECT avg(temp), count(opt), sum(opt), first(temp), last(temp) FROM readings',
    'SELECT mode, count(*) FROM readings GROUP BY mode ORDER BY count(*) DESC, mode',
    'SELECT device, seq, temp FROM readings WHERE temp > 30 ORDER BY temp DESC, device, seq LIMIT 10 OFFSET 3',
    `SELECT time_bucket(60000, ts, 'prev') b, max(hum) FROM readings WHERE device = 'p-2' AND ts >= ${T0 - 120_000} AND ts < ${T0 + 600_000} AND seq % 5 = 0 GROUP BY b ORDER BY b`,
  ];
  for (const sql of QUERIES) {
    it(sql.slice(0, 70), async () => {
      const src = dataDirSource(dir);
      try {
        const whole = await runQuery(src, sql);
        expect(whole.rows.length).toBeGreaterThan(0);
        const parts = [['p-1', 'q-2'], ['p-2'], ['p-3', 'q-1']];
        const prepared = await prepareQuery(src, sql);
        const partials = [];
        for (const ids of parts) partials.push(await prepared.partial(subset(src, ids)));
        // Through JSON, as a partial result crosses HTTP.
        const merged = prepared.finish(partials.map((p) => JSON.parse(JSON.stringify(p))));
        expect(diffRows(merged.rows, whole.rows, true)).toBeUndefined();
        expect(merged.columns).toEqual(whole.columns);
        // No partials: the answer over no rows (one row for an aggregate without GROUP BY;
        // every bucket of the range, with NULL aggregates, under FILL).
        const none = prepared.finish([]);
        const fill = sql.includes("'prev'");
        expect(none.rows.length).toBe(fill ? whole.rows.length : sql.includes('GROUP BY') || !sql.includes('avg(') ? 0 : 1);
        if (fill) expect(none.rows.every((r) => r[1] === null)).toBe(true);
      } finally {
        await src.close();
      }
    });
  }
});

describe('walk scan with pointers out of time order and foreign objects between readings', () => {
  it('answers equal the get scan and the stored readings', async () => {
    const codec = getCodec();
    const src = dataDirSource(dir);
    const dev = 'p-1';
    const target = mkdtempSync(join(tmpdir(), 'lmj-query-ooo-'));
    try {
      // Exported records with their ts reassigned so neighbours swap: pointer order ≠ time order.
      const from = openStore(join(dir, 'devices', dev), { readOnly: true });
      const records = from.read((t) => exportRecords(t, undefined, 10_000));
      await from.close();
      expect(records.length).toBe(N);
      const reversed: ReadingRecord[] = records.map((rec, i) => {
        const ts = T0 + (i ^ 1) * 1000;
        const members = rec.members.map((m) => (m.name.equals(TS_MEMBER) ? { name: m.name, value: cborUint(ts) } : m));
        return { ...rec, ts, element: encodeElement(ts, rec.ptr), members };
      });
      const store = openStore(join(target, 'devices', dev), { durability: 'fast', partition: codec.partitionOf(dev) });
      // An unrelated object with many members whose pointer sorts between reading pointers
      // (same partition and millisecond as reading 150, highest nonce).
      const foreign = Buffer.from((records[150] as ReadingRecord).ptr);
      foreign.fill(0xff, 9, 14);
      const ptrs = records.map((x) => x.ptr).sort(Buffer.compare);
      expect(Buffer.compare(foreign, ptrs[0] as Buffer)).toBeGreaterThan(0);
      expect(Buffer.compare(foreign, ptrs[ptrs.length - 1] as Buffer)).toBeLessThan(0);
      store.write((t) => applyRecords(t, dev, reversed));
      store.write((t) => {
        t.objRegister(foreign);
        for (let i = 0; i < 200; i++) t.memberPut(foreign, `x${i}`, Buffer.of(i));
      });
      await store.close();
      const moved = dataDirSource(target);
      try {
        const sql = "SELECT ts, seq, temp, mode, \"env.p\", opt FROM readings WHERE device = 'p-1' ORDER BY ts";
        const walk = await runQuery(moved, sql, { scan: 'walk' });
        const get = await runQuery(moved, sql, { scan: 'get' });
        const batch = await runQuery(moved, sql, { scan: 'batch' });
        expect(walk.rows.length).toBe(N);
        expect(walk.rows).toEqual(get.rows);
        expect(batch.rows).toEqual(get.rows);
        expect(batch.stats.valuesRead).toBe(get.stats.valuesRead);
        const bySeq = new Map(rows.filter((x) => x.device === dev).map((x) => [x.payload['seq'], x.payload]));
        for (const r of walk.rows) expect(r[2]).toBe(bySeq.get(r[1])?.['temp']);
        expect(walk.rows.slice(0, 4).map((r) => r[1])).toEqual([1, 0, 3, 2]);
        expect(walk.stats.valuesRead).toBe(get.stats.valuesRead);
      } finally {
        await moved.close();
      }
    } finally {
      await src.close();
      rmSync(target, { recursive: true, force: true });
    }
  });
});
