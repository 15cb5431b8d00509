/**
 * The native aggregate pushdown answers exactly like the row scan (`get`, the scan
 * before it): same rows to the last bit, same rows visited and values read; it is
 * planned where the addon runs and only for the shapes it computes exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCodec } from '../../../src/codec/index.js';
import { openStore, type WriteTxn } from '../../../src/core/index.js';
import { ROOT, ROOT_PTR } from '../../../src/core/telemetry/model.js';
import { dataDirSource, runQuery, type DataDirSource } from '../../../src/query/index.js';
import { writeFleet, writeReadings } from '../../helpers/telemetry-data.js';

const T0 = 1_764_000_000_000;
const NATIVE = getCodec().kind === 'native';
let dir: string;
let src: DataDirSource;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-query-push-'));
  await writeFleet(dir, ['f-1', 'f-2', 'f-3', 'g-1'], 300, T0, 7);
  // temp is text in every 10th reading: the kernel leaves this device to the row scan.
  const mixed = Array.from({ length: 200 }, (_, i) => ({
    payload: { temp: i % 10 === 0 ? `t${i}` : 10 + (i % 17) * 0.37, hum: i % 90 },
    receivedAt: T0 + i * 15_000 + 500,
  }));
  await writeReadings(dir, 'mixed', mixed, 50);
  src = dataDirSource(dir);
});

afterAll(async () => {
  await src?.close();
  rmSync(dir, { recursive: true, force: true });
});

const PUSHED = [
  `SELECT device, time_bucket('5 minutes', ts) b, count(*), count(opt), sum(temp), avg(hum), min(temp), max("env.p") FROM readings GROUP BY device, b ORDER BY device, b`,
  `SELECT count(*), min(temp), max(temp), count(opt) FROM readings WHERE temp > 20 AND hum <= 50 AND ts >= ${T0 + 60_000}`,
  "SELECT device, avg(temp), sum(\"env.p\") FROM readings WHERE device LIKE 'f-%' AND 25 > temp AND opt <> 3 GROUP BY device",
  "SELECT time_bucket('1 minute', ts) b, avg(temp), sum(hum) FROM readings WHERE device = 'f-1' AND ts < $1 GROUP BY b ORDER BY b",
  'SELECT device, avg(temp), max(temp), min(hum) FROM readings GROUP BY device ORDER BY device',
];
const NOT_PUSHED = [
  // sum over groups spanning devices: merged partial sums would add in another order.
  "SELECT time_bucket('10 minutes', ts) b, sum(temp) FROM readings GROUP BY b ORDER BY b",
  "SELECT device, first(temp), count(*) FROM readings GROUP BY device",
  "SELECT device, count(*) FROM readings WHERE mode = 'eco' GROUP BY device",
];

describe(`aggregate pushdown (${getCodec().kind} codec)`, () => {
  for (const sql of [...PUSHED, ...NOT_PUSHED]) {
    it(`equals the row scan exactly: ${sql.slice(0, 90)}`, async () => {
      const params = [T0 + 2_400_000];
      const batch = await runQuery(src, sql, { scan: 'batch', params });
      const get = await runQuery(src, sql, { scan: 'get', params });
      expect(batch.rows.length).toBeGreaterThan(0);
      expect(batch.rows).toEqual(get.rows);
      expect(batch.stats).toEqual(get.stats);
    });
  }

  it('is planned exactly where the addon computes the answer exactly', async () => {
    const planned = async (sql: string): Promise<boolean> =>
      (await runQuery(src, `EXPLAIN ${sql}`, { params: [T0] })).rows.some((r) => String(r[0]).startsWith('aggregate pushdown'));
    for (const sql of PUSHED) expect(await planned(sql)).toBe(NATIVE);
    for (const sql of NOT_PUSHED) expect(await planned(sql)).toBe(false);
  });

  it('leaves a device with text in an aggregated member to the row scan', async () => {
    const r = await runQuery(src, "SELECT count(*), count(temp), max(temp) FROM readings WHERE device = 'mixed'");
    // max over numbers and text: text sorts above numbers; 't90' > 't190' > … by text order.
    expect(r.rows).toEqual([[200, 200, 't90']]);
  });
});

describe(`aggregate pushdown and the device root (${getCodec().kind} codec)`, () => {
  const SQL = 'SELECT device, count(*), max(temp) FROM readings GROUP BY device ORDER BY device';
  let rdir: string;
  let rsrc: DataDirSource;

  beforeAll(async () => {
    rdir = mkdtempSync(join(tmpdir(), 'lmj-query-push-root-'));
    await writeFleet(rdir, ['r-1', 'r-2'], 40, T0, 3);
    // An instance without a root: no readings, in both scans.
    await openStore(join(rdir, 'devices', 'r-0')).close();
    rsrc = dataDirSource(rdir);
  });

  afterAll(async () => {
    await rsrc?.close();
    rmSync(rdir, { recursive: true, force: true });
  });

  const both = async (): Promise<unknown[][]> => {
    const batch = await runQuery(rsrc, SQL, { scan: 'batch' });
    const get = await runQuery(rsrc, SQL, { scan: 'get' });
    expect(batch.rows).toEqual(get.rows);
    expect(batch.stats).toEqual(get.stats);
    return batch.rows;
  };

  /** Rewrites r-1's root member `readings` (the store closed again before the next query). */
  const rewriteRoot = async (value: (txn: WriteTxn, readings: Buffer) => Buffer): Promise<void> => {
    await rsrc.close();
    const store = openStore(join(rdir, 'devices', 'r-1'));
    try {
      store.write((txn) => txn.memberPut(ROOT_PTR, ROOT.readings, value(txn, txn.memberGet(ROOT_PTR, ROOT.readings))));
    } finally {
      await store.close();
    }
  };

  it('reads the root pointer of each query anew: a rewritten root, a missing root, a corrupt root', async () => {
    expect((await both()).map((r) => r.slice(0, 2))).toEqual([['r-1', 40], ['r-2', 40]]);
    // The root now points to a new set holding the first 10 readings.
    await rewriteRoot((txn, readings) => {
      const set = txn.setCreate();
      for (const el of txn.setRange(readings, { limit: 10 })) txn.setAdd(set, el);
      return set;
    });
    expect((await both()).map((r) => r.slice(0, 2))).toEqual([['r-1', 10], ['r-2', 40]]);
    await rewriteRoot(() => Buffer.from([0x05]));
    for (const scan of ['batch', 'get'] as const) {
      await expect(runQuery(rsrc, SQL, { scan })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    }
  });
});
