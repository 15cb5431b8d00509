/**
 * `node dist/bench/apply-cpu.js`: the engine's CPU per stored reading on the ingest
 * apply path, without broker or pipeline: seeded firmware-sim `env` payloads, flattened
 * in one codec call per commit, applied with the device commit the daemon runs
 * (`writeAsync` → `applyReadingsTo` on the root read once), `--per-commit` readings per
 * device commit, all devices' commits in flight together. Stores live on tmpfs
 * (/dev/shm when present) in `safe` mode, so fsyncs cost next to nothing and what is
 * left is the CPU of the apply and the commit. CPU = the process's user + system time
 * (all threads) over the timed commits / readings stored.
 *
 * `--base DIR` measures another build too (a checkout with its dist/), each run in a
 * fresh child process, runs of both builds interleaved; the table shows medians.
 *
 * Usage: node dist/bench/apply-cpu.js [--runs 5] [--devices 50] [--per-commit 32]
 *        [--commits 20] [--base DIR]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeDocument } from '../firmware-sim/encode.js';
import { BUILTIN_PROFILES, type DeviceContext } from '../firmware-sim/profiles/index.js';
import { createRng } from '../firmware-sim/rng.js';
import { numArg, strArg } from './lib/args.js';
import { median } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = resolve(HERE, '..', '..');

interface Modules {
  openStore(path: string, o: { partition: number }): {
    writeAsync<T>(fn: (txn: unknown) => T): Promise<T>;
    close(): Promise<void>;
  };
  getCodec(): { partitionOf(id: string): number; flattenBatch(p: Buffer[], f: string): { ok: boolean; flat?: unknown }[] };
  ensureRoot(txn: unknown, id: string, now: number): unknown;
  applyReadingsTo(txn: unknown, root: unknown, inputs: unknown[]): { outcomes: { status: string }[] };
  messageIdentity(p: Buffer): Buffer;
}

async function load(root: string): Promise<Modules> {
  const imp = (p: string): Promise<Record<string, unknown>> => import(pathToFileURL(join(root, 'dist', 'src', p)).href) as Promise<Record<string, unknown>>;
  const [core, codec, apply, rootMod, identity] = await Promise.all([
    imp('core/index.js'),
    imp('codec/index.js'),
    imp('core/telemetry/apply.js'),
    imp('core/telemetry/root.js'),
    imp('core/telemetry/identity.js'),
  ]);
  return { ...core, ...codec, ...apply, ...rootMod, ...identity } as unknown as Modules;
}

/** Per device, `n` seeded env readings as JSON. */
function payloads(devices: number, n: number): Buffer[][] {
  const p = BUILTIN_PROFILES['env']!;
  const t0 = Date.UTC(2026, 11, 1);
  return Array.from({ length: devices }, (_, d) => {
    const dev: DeviceContext = { id: `sim-${d}`, index: d, rng: createRng(1000 + d), walks: new Map() };
    return Array.from({ length: n }, (_, i) => encodeDocument(p.reading(dev, { seq: i, boot: 1, ts: t0 + i * 1000 }), 'json'));
  });
}

/** One run in this process: returns µs of CPU per stored reading. */
async function child(root: string, devices: number, perCommit: number, commits: number): Promise<number> {
  const m = await load(root);
  const codec = m.getCodec();
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'lmj-bench-apply-'));
  try {
    const all = payloads(devices, perCommit * (commits + 2));
    const stores = all.map((_, d) => m.openStore(join(dir, `d${d}`), { partition: codec.partitionOf(`sim-${d}`) }));
    let stored = 0;
    const round = async (c: number): Promise<void> => {
      await Promise.all(
        stores.map((s, d) => {
          const list = all[d]!.slice(c * perCommit, (c + 1) * perCommit);
          const flats = codec.flattenBatch(list, 'auto');
          const inputs = list.map((p, i) => ({ flat: flats[i]!.flat, identity: m.messageIdentity(p), receivedAt: Date.now() }));
          return s.writeAsync((txn) => {
            const r = m.applyReadingsTo(txn, m.ensureRoot(txn, `sim-${d}`, Date.now()), inputs);
            for (const o of r.outcomes) if (o.status === 'stored') stored++;
          });
        }),
      );
    };
    // Two warm-up rounds (root creation, JIT), then the timed ones.
    await round(0);
    await round(1);
    stored = 0;
    const cpu0 = process.cpuUsage();
    for (let c = 2; c < commits + 2; c++) await round(c);
    const cpu = process.cpuUsage(cpu0);
    if (stored !== devices * perCommit * commits) throw new Error(`stored ${stored} of ${devices * perCommit * commits}`);
    await Promise.all(stores.map((s) => s.close()));
    return (cpu.user + cpu.system) / stored;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(root: string, args: string[]): Promise<number> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', root, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((res, rej) =>
    proc.once('exit', (code) => (code === 0 ? res(Number(out.trim())) : rej(new Error(`apply-cpu child for ${root} exited ${code}`)))),
  );
}

async function main(): Promise<void> {
  const devices = numArg('devices', 50, true);
  const perCommit = numArg('per-commit', 32, true);
  const commits = numArg('commits', 20, true);
  const ci = process.argv.indexOf('--child');
  if (ci >= 0) {
    console.log((await child(process.argv[ci + 1]!, devices, perCommit, commits)).toFixed(2));
    return;
  }
  const runs = numArg('runs', 5, true);
  const baseArg = strArg('base');
  const builds: [string, string][] = [['this build', SELF]];
  if (baseArg !== undefined) builds.push([`base ${baseArg}`, resolve(baseArg)]);
  const pass = ['--devices', String(devices), '--per-commit', String(perCommit), '--commits', String(commits)];
  const load1 = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`\n## engine apply CPU: ${devices} devices, ${perCommit} env readings per device commit, ${commits} commits, ${runs} runs\n`);
  console.log(`machine: ${cpus().length} cores, load average at start ${load1()}`);
  const results = new Map<string, number[]>(builds.map(([n]) => [n, []]));
  for (let r = 0; r < runs; r++) for (const [name, root] of builds) results.get(name)!.push(await runChild(root, pass));
  const first = median(results.get(builds[0]![0])!);
  console.log('\n| build | µs CPU / reading (median) | min..max | vs this build |\n|---|---|---|---|');
  for (const [name, xs] of results) {
    console.log(`| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)}..${Math.max(...xs).toFixed(1)} | ${(median(xs) / first).toFixed(2)}x |`);
  }
  console.log(`\nload average at end ${load1()}`);
}

await main();
