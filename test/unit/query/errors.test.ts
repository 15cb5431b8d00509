/**
 * Refusals name their position and reason: bad SQL, unsupported features, unknown
 * columns/tables; limits stop huge and slow queries with QUERY_LIMIT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirSource, runQuery, type QuerySource } from '../../../src/query/index.js';
import { isLmjError } from '../../../src/errors.js';
import { writeFleet } from '../../helpers/telemetry-data.js';

const T0 = 1_764_200_000_000;

async function refusal(src: QuerySource, sql: string, options = {}): Promise<{ code: string; message: string; position?: { line: number; column: number } }> {
  try {
    await runQuery(src, sql, options);
  } catch (err) {
    if (!isLmjError(err)) throw err;
    return { code: err.code, message: err.message, position: err.details?.['position'] as { line: number; column: number } | undefined };
  }
  throw new Error(`no error for ${sql}`);
}

describe('query errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmj-query-err-'));
    await writeFleet(dir, ['e-1', 'e-2'], 3000, T0, 1);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bad SQL → SQL_SYNTAX with line and column', async () => {
    const src = dataDirSource(dir);
    const r = await refusal(src, 'SELECT temp\nFROM readings WHERE temp >> 3');
    expect(r.code).toBe('SQL_SYNTAX');
    expect(r.position).toMatchObject({ line: 2, column: 27 });
    expect(r.message).toMatch(/at line 2, column 27$/);
    await src.close();
  });

  const UNSUPPORTED: [string, string, number][] = [
    ['SELECT a FROM readings r JOIN latest l ON r.device = l.device', 'JOIN', 26],
    ['SELECT DISTINCT device FROM readings', 'DISTINCT', 8],
    ['SELECT device FROM readings UNION SELECT device FROM latest', 'UNION', 29],
    ['SELECT count(DISTINCT device) FROM readings', 'DISTINCT', 14],
    ['SELECT device FROM readings WHERE device IN (SELECT device FROM latest)', 'IN (subquery)', 42],
    ['SELECT CASE WHEN temp > 1 THEN 1 ELSE 0 END FROM readings', 'expression case', 8],
    ['SELECT stddev(temp) FROM readings', 'function stddev()', 8],
    ['SELECT device, row_number() OVER () FROM readings', 'window function', 16],
    ['WITH x AS (SELECT 1) SELECT * FROM readings', 'WITH', 1],
    ['EXPLAIN DELETE FROM orders', 'EXPLAIN DELETE', 1],
    ['CREATE INDEX i ON orders (id)', 'CREATE INDEX', 1],
  ];
  for (const [sql, feature, column] of UNSUPPORTED) {
    it(`unsupported: ${feature}`, async () => {
      const src = dataDirSource(dir);
      const r = await refusal(src, sql);
      expect(r.code).toBe('SQL_UNSUPPORTED');
      expect(r.message).toContain(feature);
      expect(r.position?.column).toBe(column);
      await src.close();
    });
  }

  it('unknown columns, misplaced aggregates, missing parameters → SQL_INVALID with position', async () => {
    const src = dataDirSource(dir);
    const grouped = await refusal(src, 'SELECT device, temp FROM readings GROUP BY device');
    expect(grouped).toMatchObject({ code: 'SQL_INVALID', position: { column: 16 } });
    expect(grouped.message).toContain('temp must appear in GROUP BY');
    expect((await refusal(src, 'SELECT temp FROM readings WHERE max(temp) > 1')).code).toBe('SQL_INVALID');
    expect((await refusal(src, 'SELECT temp FROM readings WHERE temp > $2', { params: [1] })).message).toContain('$2');
    expect((await refusal(src, 'SELECT nope FROM devices')).position?.column).toBe(8);
    const fill = await refusal(src, "SELECT time_bucket('1 minute', ts, 'prev') b, count(*) FROM readings GROUP BY b");
    expect(fill.message).toContain('FILL needs lower and upper ts bounds');
    expect((await refusal(src, "SELECT time_bucket('1 fortnight', ts) b FROM readings GROUP BY b")).code).toBe('SQL_INVALID');
    const table = await refusal(src, 'SELECT * FROM orders');
    expect(table).toMatchObject({ code: 'SQL_TABLE_NOT_FOUND', position: { column: 15 } });
    await src.close();
  });

  it('a huge answer → QUERY_LIMIT (maxRows), and LIMIT stops the scan early', async () => {
    const src = dataDirSource(dir);
    const r = await refusal(src, 'SELECT device, ts FROM readings', { limits: { maxRows: 1000 } });
    expect(r.code).toBe('QUERY_LIMIT');
    expect(r.message).toContain('more than 1000 rows');
    const ordered = await refusal(src, 'SELECT device, ts FROM readings ORDER BY ts', { limits: { maxRows: 1000 } });
    expect(ordered.code).toBe('QUERY_LIMIT');
    const limited = await runQuery(src, 'SELECT device, ts FROM readings LIMIT 7 OFFSET 2');
    expect(limited.rows.length).toBe(7);
    expect(limited.stats.rowsScanned).toBe(9);
    await src.close();
  });

  it('too many groups, too many rows visited, and time → QUERY_LIMIT', async () => {
    const src = dataDirSource(dir);
    const groups = await refusal(src, 'SELECT seq, count(*) FROM readings GROUP BY seq', { limits: { maxGroups: 500 } });
    expect(groups.code).toBe('QUERY_LIMIT');
    expect(groups.message).toContain('more than 500 groups');
    const scanned = await refusal(src, 'SELECT count(*) FROM readings', { limits: { maxScanned: 4000 } });
    expect(scanned.message).toContain('visited more than 4000 rows');
    // A budget already spent: the clock check before the first instance stops it.
    const slow = await refusal(src, 'SELECT avg(temp) FROM readings', { limits: { timeoutMs: -1 } });
    expect(slow.code).toBe('QUERY_LIMIT');
    expect(slow.message).toContain('longer than -1 ms');
    const ok = await runQuery(src, 'SELECT count(*) FROM readings', { limits: { maxScanned: 6000 } });
    expect(ok.rows).toEqual([[6000]]);
    await src.close();
  });
});
