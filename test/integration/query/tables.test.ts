/**
 * Pseudo-table CRUD: each statement one write transaction of DIR/tables; rows read
 * back through the engine and checked byte for byte with liblmdb's `mdb_dump`
 * (what the reference C library reads).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openStore } from '../../../src/core/index.js';
import { ROOT_PTR } from '../../../src/core/telemetry/index.js';
import { isLmjError } from '../../../src/errors.js';
import { dataDirSource, runQuery, type QuerySource } from '../../../src/query/index.js';
import { readSchema } from '../../../src/query/table-schema.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** `mdb_dump -s <db>` of an environment directory as [keyHex, valueHex] pairs. */
function dump(envDir: string, db: 'main' | 'set'): [string, string][] {
  const out = execFileSync('mdb_dump', ['-s', db, envDir], { encoding: 'utf8' });
  const body = out.slice(out.indexOf('HEADER=END\n') + 'HEADER=END\n'.length, out.indexOf('DATA=END'));
  const lines = body.split('\n').filter((l) => l.startsWith(' ')).map((l) => l.trim());
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) pairs.push([lines[i] as string, lines[i + 1] as string]);
  return pairs;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isLmjError(err) ? err.code : String(err);
  }
  return undefined;
}

async function q(src: QuerySource, sql: string): Promise<unknown[][]> {
  return (await runQuery(src, sql)).rows;
}

describe('pseudo-tables', () => {
  it('CREATE / INSERT / UPDATE / DELETE / DROP, read back through the engine and mdb_dump', async () => {
    const dir = tmpDir();
    const src = dataDirSource(dir);
    expect(await q(src, 'CREATE TABLE orders (id text primary key, qty int NOT NULL, price real, paid bool)')).toEqual([[1]]);
    expect(await q(src, "INSERT INTO orders (id, qty, price, paid) VALUES ('b-2', 2, 9.5, true), ('a-1', 1, 3, false), ('c-3', 30, NULL, NULL)")).toEqual([[3]]);
    expect(await q(src, 'SELECT id, qty, price, paid FROM orders')).toEqual([['a-1', 1, 3, false], ['b-2', 2, 9.5, true], ['c-3', 30, null, null]]);
    expect(await q(src, "UPDATE orders SET qty = qty * 10, price = NULL WHERE id = 'b-2'")).toEqual([[1]]);
    expect(await q(src, "UPDATE orders SET id = 'z-9' WHERE qty = 1")).toEqual([[1]]);
    expect(await q(src, 'DELETE FROM orders WHERE qty >= 30')).toEqual([[1]]);
    const r = await runQuery(src, 'SELECT * FROM orders ORDER BY id');
    expect(r.rows).toEqual([['b-2', 20, null, true], ['z-9', 1, 3, false]]);
    expect(r.columns).toEqual([{ name: 'id', type: 'text' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'real' }, { name: 'paid', type: 'bool' }]);
    expect(await q(src, 'SELECT sum(qty), count(price) FROM orders')).toEqual([[21, 1]]);
    await src.close();

    // Through the engine: schema object, rows set keyed by primary key, row objects.
    const tables = join(dir, 'tables');
    const store = openStore(tables, { readOnly: true });
    const { schema, elements, rowMembers } = store.read((t) => {
      const s = readSchema(t, 'orders');
      if (s === null) throw new Error('no schema');
      const els = t.setGet(s.rows).elements;
      return {
        schema: s,
        elements: els,
        rowMembers: els.map((el) => t.objGet(el.subarray(el.length - 17)).members.map((m) => [m.name.toString(), m.value.toString('hex')])),
      };
    });
    await store.close();
    expect(schema.primaryKey).toBe('id');
    expect(elements.map((e) => e.subarray(1, e.length - 18).toString())).toEqual(['b-2', 'z-9']);
    // Canonical CBOR: uint 20 = 14, true = f5, float64 3.0 = fb4008…, text "z-9" = 637a2d39.
    expect(rowMembers).toEqual([
      [['id', '63622d32'], ['paid', 'f5'], ['qty', '14']],
      [['id', '637a2d39'], ['paid', 'f4'], ['price', 'fb4008000000000000'], ['qty', '01']],
    ]);

    // mdb_dump sees the same bytes: the row object's `qty` key is ptr ‖ "qty" → 0x14.
    const main = dump(tables, 'main');
    const firstRow = (elements[0] as Buffer).subarray((elements[0] as Buffer).length - 17).toString('hex');
    expect(main).toContainEqual([`${firstRow}${Buffer.from('qty').toString('hex')}`, '14']);
    const set = dump(tables, 'set');
    expect(set).toContainEqual([schema.rows.toString('hex'), (elements[0] as Buffer).toString('hex')]);
    expect(main).toContainEqual([`${ROOT_PTR.toString('hex')}${Buffer.from('table:orders').toString('hex')}`, schema.ptr.toString('hex')]);

    // DROP removes every key of the table.
    const src2 = dataDirSource(dir);
    expect(await q(src2, 'DROP TABLE orders')).toEqual([[2]]);
    expect(await code(runQuery(src2, 'SELECT * FROM orders'))).toBe('SQL_TABLE_NOT_FOUND');
    await src2.close();
    const after = dump(tables, 'main');
    const gone = [schema.ptr.toString('hex'), firstRow];
    expect(after.filter(([k]) => gone.some((p) => k.startsWith(p)))).toEqual([]);
    expect(dump(tables, 'set').filter(([k]) => k === schema.rows.toString('hex') || k === schema.ptr.toString('hex'))).toEqual([]);
  });

  it('a failing statement writes nothing; constraints and names are checked', async () => {
    const dir = tmpDir();
    const src = dataDirSource(dir);
    await q(src, 'CREATE TABLE t (k int primary key, v text NOT NULL)');
    await q(src, "INSERT INTO t VALUES (1, 'a'), (-2.5e0 + 0.5, 'b')");
    // The third row is a duplicate key: the whole INSERT is rolled back.
    expect(await code(runQuery(src, "INSERT INTO t VALUES (3, 'c'), (4, 'd'), (1, 'dup')"))).toBe('CONSTRAINT_FAILED');
    expect(await code(runQuery(src, 'INSERT INTO t VALUES (5, NULL)'))).toBe('CONSTRAINT_FAILED');
    expect(await code(runQuery(src, "INSERT INTO t VALUES (1.5, 'x')"))).toBe('CONSTRAINT_FAILED');
    expect(await code(runQuery(src, "INSERT INTO t VALUES ('k', 'x')"))).toBe('CONSTRAINT_FAILED');
    expect(await code(runQuery(src, "UPDATE t SET k = 1 WHERE k = -2"))).toBe('CONSTRAINT_FAILED');
    expect(await code(runQuery(src, 'CREATE TABLE t (a int)'))).toBe('SQL_TABLE_EXISTS');
    expect(await q(src, 'CREATE TABLE IF NOT EXISTS t (a int)')).toEqual([[0]]);
    expect(await code(runQuery(src, 'CREATE TABLE readings (a int)'))).toBe('SQL_INVALID');
    expect(await code(runQuery(src, 'INSERT INTO nope VALUES (1)'))).toBe('SQL_TABLE_NOT_FOUND');
    // Primary-key order, negative numbers before positive.
    expect(await q(src, 'SELECT k, v FROM t')).toEqual([[-2, 'b'], [1, 'a']]);
    const plan = (await q(src, 'EXPLAIN SELECT v FROM t WHERE k = 1')).map((r) => r[0]).join('\n');
    expect(plan).toContain('one seek on primary key k = 1');
    const hit = await runQuery(src, 'SELECT v FROM t WHERE k = 1');
    expect(hit.rows).toEqual([['a']]);
    expect(hit.stats.rowsScanned).toBe(1);
    await src.close();
  });

  it('a table without a primary key keeps insertion order', async () => {
    const dir = tmpDir();
    const src = dataDirSource(dir);
    await q(src, 'CREATE TABLE log (msg text, n int)');
    await q(src, "INSERT INTO log VALUES ('z', 1), ('a', 2)");
    await q(src, "INSERT INTO log (n) VALUES (3)");
    expect(await q(src, 'SELECT msg, n FROM log')).toEqual([['z', 1], ['a', 2], [null, 3]]);
    expect(await q(src, 'SELECT first(msg), last(n), count(*) FROM log')).toEqual([['z', 3, 3]]);
    expect(await q(src, "DELETE FROM log WHERE msg = 'a'")).toEqual([[1]]);
    expect(await q(src, 'SELECT n FROM log')).toEqual([[1], [3]]);
    await src.close();
  });
});
