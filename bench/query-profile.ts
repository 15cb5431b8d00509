/**
 * CPU per query of one bench query repeated through `runQuery` on the query bench's
 * fleet (bench/query.ts), without SQLite in the timed loop: the driver for profiling a
 * query (`node --cpu-prof --cpu-prof-interval 250 dist/bench/query-profile.js q1`).
 *
 * Usage: node dist/bench/query-profile.js q1|q2|q3|q4|"SQL" [repeats per round, default 2000]
 * (a bench query by name, or any SQL over the same fleet: devices dev-000…dev-099, env
 * profile; `LMJ_BENCH_QUERY_READINGS` as in bench/query.ts, default 30,000; 5 rounds,
 * median).
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dataDirSource, runQuery } from '../src/query/index.js';
import { median } from './lib/report.js';
import { build, queries } from './query.js';

const which = process.argv[2] ?? 'q1';
const repeats = Number(process.argv[3] ?? 2000);
const fleet = await build(Number(process.env['LMJ_BENCH_QUERY_READINGS'] ?? 30_000));
const q = /^q\d$/.test(which) ? queries(fleet.end).find((x) => x.name.startsWith(`${which} `)) : { name: which, ours: which, sqlite: '' };
if (q === undefined) throw new Error(`unknown query ${which} (q1..q4)`);
const src = dataDirSource(fleet.dir);
try {
  const opts = { limits: { timeoutMs: 600_000 } };
  const first = await runQuery(src, q.ours, opts);
  const perQuery: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < repeats; i++) await runQuery(src, q.ours, opts);
    const c = process.cpuUsage(c0);
    perQuery.push((c.user + c.system) / repeats);
  }
  console.log(`${q.name}: ${first.rows.length} rows, ${first.stats.valuesRead} values; CPU per query ${median(perQuery).toFixed(1)} µs (median of 5 rounds of ${repeats}: ${perQuery.map((x) => x.toFixed(0)).join(' ')}); load ${loadavg()[0]?.toFixed(1)}`);
} finally {
  await src.close();
  fleet.db.close();
  rmSync(fleet.dir, { recursive: true, force: true });
}
