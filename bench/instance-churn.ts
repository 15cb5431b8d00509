/**
 * Memory kept per LMDB environment open + close, as a thrashing instance pool over a large
 * fleet does it: every open is of a directory not opened before (device `d-<n>`). Two ways
 * of closing, measured in the same run, each in a fresh child process:
 *   bare lmdb-js   `open()` + `close()` of lmdb-js alone
 *   lmj-edge       the engine's openHandles/closeHandles (src/core/lmdb-env.ts), which also
 *                  drops the closed stores from lmdb-js's global `allDbs` registry
 * and prints anonymous RSS, V8 heap and ArrayBuffer bytes after a full GC, per round and
 * per open, so the per-open cost can be split into JS heap, buffers and native memory.
 * (A loop that never yields to timers also keeps every env alive through lmdb-js's pending
 * read-snapshot reset timer; the rounds yield before measuring, as a daemon does.)
 *
 * Usage: npm run build:ts && node dist/bench/instance-churn.js [opens per round] [rounds]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { closeHandles, openHandles } from '../src/core/lmdb-env.js';

const MODES = ['bare', 'lmj-edge'] as const;
type Mode = (typeof MODES)[number];

function anonMb(): number {
  return Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

async function openClose(mode: Mode, path: string): Promise<void> {
  mkdirSync(path, { recursive: true });
  if (mode === 'lmj-edge') {
    const h = openHandles(path, 'safe', 1 << 20, false);
    h.main.getBinary(Buffer.from('x'));
    await closeHandles(h);
    return;
  }
  const env = open({ path, maxDbs: 4, mapSize: 1 << 20 });
  env.openDB({ name: 'main', keyEncoding: 'binary', encoding: 'binary' }).getBinary(Buffer.from('x'));
  await env.close();
}

/** One mode's rounds, in this (child) process; prints one line per round, the last one marked. */
async function child(mode: Mode, perRound: number, rounds: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-churn-'));
  try {
    let last = { anon: anonMb(), ...process.memoryUsage() };
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRound; i++) await openClose(mode, join(dir, `d-${r * perRound + i}`));
      // lmdb-js resets each env's read snapshot in a setTimeout(0) that holds the env: let those
      // timers run (as they do between a daemon's event-loop turns) before measuring.
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
      const now = { anon: anonMb(), ...process.memoryUsage() };
      const per = (bytes: number): string => ((bytes / perRound) / 1024).toFixed(1);
      console.log(
        `${mode.padEnd(8)} round ${r + 1}: anonymous RSS ${now.anon.toFixed(0)} MB, per open + close: ` +
          `${per((now.anon - last.anon) * 1024 * 1024)} KiB anonymous, ${per(now.heapUsed - last.heapUsed)} KiB V8 heap, ` +
          `${per(now.arrayBuffers - last.arrayBuffers)} KiB ArrayBuffers`,
      );
      last = now;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const self = fileURLToPath(import.meta.url);
const perRound = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 4);
const childMode = process.argv[4] as Mode | undefined;
if (childMode !== undefined) {
  await child(childMode, perRound, rounds);
} else {
  console.log(`# lmdb-js environment open + close of distinct directories, ${perRound} per round (load average ${loadavg()[0]!.toFixed(1)})`);
  for (const mode of MODES) {
    const r = spawnSync(process.execPath, ['--expose-gc', self, String(perRound), String(rounds), mode], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`${mode} run failed (${r.status})`);
  }
}
