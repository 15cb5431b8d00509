/**
 * `node dist/bench/cpu-per-message.js`: CPU per acked message of the embedded daemon
 * (durable QoS 1), against the bare aedes relay's CPU per message in the same run, and
 * optionally against another build of lmj-edge (`--base DIR`: a checkout with its own
 * dist/, e.g. the previous commit), runs interleaved so machine load hits both alike.
 *
 * Each run: a fresh daemon, `lmj-edge sim --devices N --rate 0 --duration S --qos 1`,
 * CPU = the daemon's user+system time (all threads, /proc) over the sim run divided by
 * the acks. `--profile` adds one more run per build under `node --cpu-prof` and prints
 * its main-thread time per ingest stage (bench/lib/cpu-stages.ts) as µs per message.
 *
 * Usage: node dist/bench/cpu-per-message.js [--runs 3] [--duration 8] [--devices 100]
 *        [--base DIR] [--profile]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { SimSummary } from '../firmware-sim/sim-types.js';
import { STAGES, stageTimes, type Stage } from './lib/cpu-stages.js';
import { children, cpuSeconds, DAEMON_HEAP_FLAGS, spawnReady, stop } from './lib/procs.js';
import { numArg, strArg } from './lib/args.js';
import { median } from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root of this build (dist/bench/.. /..). */
const SELF = resolve(HERE, '..', '..');

interface Run {
  rate: number;
  acked: number;
  usPerMsg: number;
}

async function sim(url: string, devices: number, durationS: number): Promise<SimSummary> {
  const args = [join(SELF, 'dist', 'firmware-sim', 'main.js'), 'sim', '--broker', url, '--devices', String(devices), '--rate', '0'];
  args.push('--duration', String(durationS), '--qos', '1', '--json', '--seed', '1', '--drain-timeout', '30000');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((r) => proc.once('exit', () => r()));
  children.delete(proc);
  return JSON.parse(out) as SimSummary;
}

/** One measured run of a build's embedded daemon; `profileDir` runs it under --cpu-prof. */
async function daemonRun(root: string, devices: number, durationS: number, profileDir?: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-cpu-'));
  try {
    const node = [...DAEMON_HEAP_FLAGS, ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])];
    const args = [...node, join(root, 'dist', 'src', 'cli', 'main.js'), 'start', '--data', join(dir, 'data'), '--http-port', '0', '--mqtt-port', '0'];
    const { proc, matches } = await spawnReady(process.execPath, args, [/mqtt listening on .*:(\d+)/]);
    const url = `mqtt://127.0.0.1:${matches[0]![1]}`;
    await sim(url, 1, 0.2);
    const cpu0 = cpuSeconds(proc.pid);
    const s = await sim(url, devices, durationS);
    const cpu = cpuSeconds(proc.pid) - cpu0;
    await stop(proc);
    return { rate: (s.acked - 1) / s.ackSpanS, acked: s.acked, usPerMsg: (cpu / Math.max(1, s.acked)) * 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare aedes relay (bench/ingest.ts --relay-aedes): broker CPU per acked message. */
async function relayRun(devices: number, durationS: number): Promise<Run> {
  const { proc, matches } = await spawnReady(process.execPath, [join(HERE, 'ingest.js'), '--relay-aedes'], [/relay listening on (\d+)/]);
  const url = `mqtt://127.0.0.1:${matches[0]![1]}`;
  await sim(url, 1, 0.2);
  const cpu0 = cpuSeconds(proc.pid);
  const s = await sim(url, devices, durationS);
  const cpu = cpuSeconds(proc.pid) - cpu0;
  await stop(proc);
  return { rate: (s.acked - 1) / s.ackSpanS, acked: s.acked, usPerMsg: (cpu / Math.max(1, s.acked)) * 1e6 };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmt1 = (n: number): string => n.toFixed(1);

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
}

/**
 * Profiles one run per build and prints each stage's share of the busy (non-idle)
 * main-thread samples, and that share of the run's measured CPU per message. The
 * profiler's sample intervals are wall time, so on a loaded machine only the shares
 * are trustworthy; the µs column spreads the /proc CPU time by them.
 */
async function profileStages(builds: [string, string][], devices: number, durationS: number): Promise<void> {
  const perBuild = new Map<string, { share: Map<Stage, number>; run: Run }>();
  for (const [name, root] of builds) {
    const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-prof-'));
    try {
      const run = await daemonRun(root, devices, durationS, dir);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file === undefined) throw new Error(`no CPU profile written for ${name}`);
      const times = stageTimes(join(dir, file));
      const busy = [...times].filter(([s]) => s !== 'idle').reduce((a, [, t]) => a + t, 0);
      perBuild.set(name, { share: new Map([...times].map(([s, t]) => [s, s === 'idle' ? 0 : t / busy])), run });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\nper ingest stage: % of busy main-thread samples, and µs of the run\'s CPU per message (one --cpu-prof run each):\n');
  const names = builds.map(([n]) => n);
  const rows = [['stage', ...names]];
  for (const stage of STAGES) {
    if (stage === 'idle') continue;
    rows.push([stage, ...names.map((n) => {
      const b = perBuild.get(n)!;
      const share = b.share.get(stage)!;
      return `${(share * 100).toFixed(1)} % = ${fmt1(share * b.run.usPerMsg)} µs`;
    })]);
  }
  rows.push(['CPU per message (this run)', ...names.map((n) => `${fmt1(perBuild.get(n)!.run.usPerMsg)} µs`)]);
  rows.push(['acked msg/s (this run)', ...names.map((n) => fmt(perBuild.get(n)!.run.rate))]);
  printTable(rows);
}

async function main(): Promise<void> {
  const runs = numArg('runs', 3);
  const durationS = numArg('duration', 8);
  const devices = numArg('devices', 100);
  const base = strArg('base');
  const builds: [string, string][] = [['lmj-edge (this build)', SELF]];
  if (base !== undefined) builds.push([`lmj-edge (${base})`, resolve(base)]);
  const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`\n## CPU per message: embedded q1, ${devices} devices, --rate 0, ${durationS} s, median of ${runs}\n`);
  console.log(`machine: ${cpus().length} cores, load average at start ${load()}`);
  const results = new Map<string, Run[]>([['aedes relay q1 (broker only)', []], ...builds.map(([n]) => [n, []] as [string, Run[]])]);
  for (let r = 0; r < runs; r++) {
    results.get('aedes relay q1 (broker only)')!.push(await relayRun(devices, durationS));
    for (const [name, root] of builds) results.get(name)!.push(await daemonRun(root, devices, durationS));
  }
  const first = median(results.get(builds[0]![0])!.map((x) => x.usPerMsg));
  const rows = [['case', 'acked msg/s', 'µs CPU / msg', 'min..max', 'vs this build']];
  for (const [name, xs] of results) {
    const us = xs.map((x) => x.usPerMsg);
    rows.push([name, fmt(median(xs.map((x) => x.rate))), fmt1(median(us)), `${fmt1(Math.min(...us))}..${fmt1(Math.max(...us))}`, `${(median(us) / first).toFixed(2)}x`]);
  }
  printTable(rows);
  if (process.argv.includes('--profile')) await profileStages(builds, devices, durationS);
  console.log(`\nload average at end ${load()} (other work shares the cores: compare within the run)`);
}

await main();
process.exit(0);
