/**
 * Prepared SELECTs cached by SQL text and parameters: which statements are cached, the
 * LRU bound, and that a cached statement answers from the data of each run (new
 * readings, another source, other parameter values) exactly like a fresh one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSql } from '../../../src/query/parse.js';
import { PreparedCache, cacheable, preparedKey } from '../../../src/query/prepared-cache.js';
import { dataDirSource, runQuery } from '../../../src/query/index.js';
import type { SelectStmt } from '../../../src/query/ast.js';
import { writeReadings } from '../../helpers/telemetry-data.js';

const T0 = 1_764_000_000_000;
let dir: string;

function select(sql: string): SelectStmt {
  const s = parseSql(sql);
  if (s.kind !== 'select') throw new Error('not a select');
  return s;
}

const payloads = (from: number, n: number): { payload: Record<string, unknown>; receivedAt: number }[] =>
  Array.from({ length: n }, (_, i) => ({ payload: { temp: (from + i) % 40, hum: i }, receivedAt: T0 + (from + i) * 1000 }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-query-prepared-'));
  await writeReadings(dir, 'p-1', payloads(0, 300));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prepared statement cache', () => {
  it('keys by text and parameter values, and leaves out what cannot be reused', () => {
    const sql = 'SELECT count(*) FROM readings WHERE temp > $1';
    expect(preparedKey(sql, [20])).not.toBe(preparedKey(sql, [21]));
    expect(preparedKey(sql, [1])).not.toBe(preparedKey(sql, ['1']));
    expect(preparedKey(sql, [1])).not.toBe(preparedKey(sql, [true]));
    expect(preparedKey(sql, [20])).toBe(preparedKey(sql, [20]));
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, -0]) expect(preparedKey(sql, [v])).toBeNull();
    expect(cacheable(select(sql))).toBe(true);
    for (const s of ['SELECT * FROM readings', 'EXPLAIN SELECT count(*) FROM readings', 'SELECT count(*) FROM readings WHERE ts < now()', 'SELECT count(*) FROM orders']) {
      expect(cacheable(select(s))).toBe(false);
    }
  });

  it('is a bounded least-recently-used map', () => {
    const c = new PreparedCache<number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1);
    c.set('d', 4);
    expect(c.count).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([1, 3, 4]);
  });

  it('answers from the data of each run: other parameters, new readings, another source', async () => {
    const sql = "SELECT count(*), max(hum) FROM readings WHERE device = 'p-1' AND temp > $1";
    const expected = (n: number, over: number): [number, number] => {
      const hits = payloads(0, n).filter((p) => (p.payload['temp'] as number) > over);
      return [hits.length, Math.max(...hits.map((p) => (p.payload as Record<string, unknown>)['hum'] as number))];
    };
    let src = dataDirSource(dir);
    try {
      expect((await runQuery(src, sql, { params: [20] })).rows).toEqual([expected(300, 20)]);
      expect((await runQuery(src, sql, { params: [30] })).rows).toEqual([expected(300, 30)]);
      expect((await runQuery(src, sql, { params: [20] })).rows).toEqual([expected(300, 20)]);
    } finally {
      await src.close();
    }
    // More readings written while no source holds the instance, then a new source.
    await writeReadings(dir, 'p-1', payloads(300, 200).map((p, i) => ({ ...p, payload: { ...p.payload, hum: 300 + i } })));
    src = dataDirSource(dir);
    try {
      const r = await runQuery(src, sql, { params: [20] });
      const hits = [...payloads(0, 300), ...payloads(300, 200).map((p, i) => ({ ...p, payload: { ...p.payload, hum: 300 + i } }))].filter((p) => ((p.payload as Record<string, unknown>)['temp'] as number) > 20);
      expect(r.rows).toEqual([[hits.length, Math.max(...hits.map((p) => (p.payload as Record<string, unknown>)['hum'] as number))]]);
      expect(r.stats.rowsScanned).toBe(500);
      // now() is bound per run: not cached, so a later `now` moves the bound.
      const early = await runQuery(src, "SELECT count(*) FROM readings WHERE device = 'p-1' AND ts < now()", { now: T0 + 100_000 });
      const late = await runQuery(src, "SELECT count(*) FROM readings WHERE device = 'p-1' AND ts < now()", { now: T0 + 200_000 });
      expect([early.rows, late.rows]).toEqual([[[100]], [[200]]]);
    } finally {
      await src.close();
    }
  });
});
