/**
 * Memory one OPEN device instance holds (the pool keeps up to `maxOpenInstances` of them):
 * opens N distinct environments with the engine's openHandles (src/core/lmdb-env.ts), one
 * environment opened and closed first (as a pool that has evicted once), then commits three
 * write groups of `--puts` keys into each, and prints anonymous RSS, V8 heap and ArrayBuffers
 * per open instance after a full GC. Each case runs in a fresh child process, with glibc's
 * malloc defaults and with the daemon's settings (memory.mmapThresholdKb 128,
 * memory.mallocArenas 2; src/codec/malloc.ts), for 100 and 1,000 open instances.
 *
 * Usage: npm run build:ts && node dist/bench/open-instances.js [--puts 200]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tuneMalloc } from '../src/codec/malloc.js';
import { closeHandles, openHandles } from '../src/core/lmdb-env.js';
import { numArg } from './lib/args.js';

const MALLOC = ['glibc', 'daemon'] as const;
type Malloc = (typeof MALLOC)[number];

function anonKb(): number {
  return Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** One case in this (child) process: prints one line. */
async function child(malloc: Malloc, n: number, puts: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  if (malloc === 'daemon' && !tuneMalloc({ mmapThresholdKb: 128, arenas: 2 })) throw new Error('malloc settings not applied (not glibc?)');
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-open-'));
  try {
    await closeHandles(openHandles(join(dir, 'first'), 'safe', 1 << 20, false));
    gc();
    const m0 = process.memoryUsage();
    const a0 = anonKb();
    const hs = Array.from({ length: n }, (_, i) => openHandles(join(dir, `d-${i}`), 'safe', 64 << 20, false));
    const value = Buffer.alloc(8, 1);
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        hs.map((h) =>
          h.root.transaction(() => {
            for (let k = 0; k < puts; k++) {
              const key = Buffer.alloc(24);
              key[0] = 1;
              key.writeUInt32BE(round * puts + k, 17);
              h.main.putSync(key, value);
            }
          }),
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    const m1 = process.memoryUsage();
    const per = (bytes: number): string => (bytes / 1024 / n).toFixed(0).padStart(4);
    console.log(
      `| ${malloc.padEnd(6)} | ${String(n).padStart(5)} | ${per((anonKb() - a0) * 1024)} KiB | ${per(m1.heapUsed - m0.heapUsed)} KiB | ${per(m1.arrayBuffers - m0.arrayBuffers)} KiB | ${(anonKb() / 1024).toFixed(0)} MB |`,
    );
    for (const h of hs) await closeHandles(h);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const self = fileURLToPath(import.meta.url);
const puts = numArg('puts', 200, true);
const childArgs = process.argv.indexOf('--child');
if (childArgs >= 0) {
  await child(process.argv[childArgs + 1] as Malloc, Number(process.argv[childArgs + 2]), puts);
} else {
  console.log(`# open instances, 3 write groups of ${puts} puts each (load average ${loadavg()[0]!.toFixed(1)})\n`);
  console.log('| malloc | open | anonymous RSS per instance | V8 heap | ArrayBuffers | process anon |');
  console.log('|---|---|---|---|---|---|');
  for (const n of [100, 1000]) {
    for (const malloc of MALLOC) {
      const r = spawnSync(process.execPath, ['--expose-gc', self, '--puts', String(puts), '--child', malloc, String(n)], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`${malloc} ${n} failed (${r.status})`);
    }
  }
}
