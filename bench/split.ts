/**
 * Range split benchmark (`npm run bench -- split`): the latency of `splitRange` (one etcd
 * transaction over three keys, after reading the header, the range and the moves)
 * against the baseline of a one-range change (`bumpEpoch`: header + range), both on one
 * real etcd in the same run, interleaved so load drifts hit both alike. Medians and p99
 * of `count` each, and the ratio.
 *
 * Standalone: node dist/bench/split.js [--count 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NodeRegistration, bumpEpoch, connectEtcd, initTable, setOwner, splitRange } from '../src/cluster/index.js';
import { etcdProcess } from './cluster.js';
import { median, quantile } from './lib/report.js';

/** Runs the benchmark and prints its table. */
export async function runSplitBench(count = 100): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-split-'));
  const etcd = await etcdProcess(dir);
  const client = connectEtcd([etcd.url]);
  try {
    // 64 ranges of 1,024 partitions; the first one is bumped, the others are split repeatedly.
    await initTable(client, 1024);
    const reg = await NodeRegistration.register(client, { id: 'n1', address: { host: '127.0.0.1', port: 1 }, capacity: { devices: 1, bytes: 1 }, load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }), ttlSeconds: 10 });
    await setOwner(client, 0, { kind: 'node', id: 'n1' });
    const bump: number[] = [];
    const split: number[] = [];
    // Each split takes 1 partition off the top of range 1024.. (the upper half starts at to - i).
    let to = 2047;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await bumpEpoch(client, 0);
      bump.push(performance.now() - t0);
      const t1 = performance.now();
      await splitRange(client, { from: 1024, to, at: to });
      split.push(performance.now() - t1);
      to--;
    }
    await reg.stop();
    const row = (name: string, v: number[], base: number[]): string =>
      `| ${name} | ${median(v).toFixed(2)} | ${quantile(v, 0.99).toFixed(2)} | ${(median(v) / median(base)).toFixed(2)}× |`;
    console.log(`\n## Range split vs a one-range change (${count} each, one etcd, interleaved)\n`);
    console.log('| transaction | p50 ms | p99 ms | p50 vs baseline |');
    console.log('|---|---|---|---|');
    console.log(row('bumpEpoch (baseline: header + 1 range)', bump, bump));
    console.log(row('splitRange (moves listed, header + 2 ranges)', split, bump));
  } finally {
    client.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--count');
  await runSplitBench(i > 0 ? Number(process.argv[i + 1]) : 100);
}
