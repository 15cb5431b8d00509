/**
 * Memory kept per LMDB environment open + close: opens and closes bare lmdb-js
 * environments (no lmj-edge code) round after round and prints the process's anonymous
 * RSS after a full GC, so a thrashing instance pool's memory cost can be read per open.
 *
 * Usage: npm run build:ts && node --expose-gc dist/bench/instance-churn.js [opens per round] [rounds]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';

const perRound = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 4);

function anonMb(): number {
  return Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-churn-'));
try {
  console.log(`# lmdb-js environment open + close, ${perRound} per round (load average ${loadavg()[0]!.toFixed(1)})`);
  let last = anonMb();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < perRound; i++) {
      const path = join(dir, `d-${i}`);
      mkdirSync(path, { recursive: true });
      const env = open({ path, maxDbs: 4, mapSize: 1 << 20 });
      env.openDB({ name: 'main', keyEncoding: 'binary', encoding: 'binary' }).getBinary(Buffer.from('x'));
      await env.close();
    }
    gc();
    const now = anonMb();
    console.log(`round ${r + 1}: anonymous RSS ${now.toFixed(0)} MB, ${(((now - last) * 1024) / perRound).toFixed(0)} KiB per open + close`);
    last = now;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
