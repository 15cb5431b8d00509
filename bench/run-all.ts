/**
 * `npm run bench`: every benchmark that compares against a baseline measured in the
 * same run. Each section prints its own table of medians and ratios.
 * Select sections with arguments: `npm run bench -- codec core journal catch-up cluster`.
 */
import { runBadInputBench } from './bad-input.js';
import { runCatchUpBench } from './catch-up.js';
import { runClusterBench } from './cluster.js';
import { runCodecBench } from './codec.js';
import { runCoreBench } from './core.js';
import { runJournalBench } from './journal.js';
import { runDashboardBench } from './dashboard.js';
import { runExpansionBench } from './expansion.js';
import { runQueryBench } from './query.js';
import { runRetentionBench } from './retention.js';
import { runSplitBench } from './split.js';

const sections: Record<string, () => Promise<void>> = {
  codec: runCodecBench,
  core: runCoreBench,
  journal: runJournalBench,
  dashboard: () => runDashboardBench(),
  // Routing overhead of a cluster router (bench/cluster.ts); process start-up dominates at this size.
  cluster: () => runClusterBench(Number(process.env.LMJ_BENCH_CLUSTER_READINGS ?? 4000), 3, 100),
  // The full size is 1,000,000 readings (LMJ_BENCH_CATCHUP_READINGS=1000000); the
  // default keeps `npm run bench` within minutes at this machine's durable ingest rate.
  'catch-up': () => runCatchUpBench(Number(process.env.LMJ_BENCH_CATCHUP_READINGS ?? 10_000), 3, 100),
  // Full size: LMJ_BENCH_QUERY_READINGS=1000000; the default runs in under a minute here.
  query: () => runQueryBench(),
  // Canary throughput with and without a flood of dead-lettered bad input (~30 s).
  'bad-input': runBadInputBench,
  // Trim and compaction rates, ingest of other devices during them, mdb_copy -c baseline (~40 s).
  retention: () => runRetentionBench(),
  // Range moves: copy method, move rate vs ingest, fence window, new node to first batch (~85 s here).
  expansion: () => runExpansionBench(),
  // Range split transaction vs a one-range change, one etcd (~10 s).
  split: () => runSplitBench(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in sections));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
console.log(`# lmj-edge benchmarks (node ${process.version}, ${process.arch})`);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await run();
}
