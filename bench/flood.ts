/**
 * Abuse cases of the daemon's memory: a QoS 0 flood (embedded, or through mosquitto in
 * external mode) and many idle MQTT connections. Not a speed bench: it prints what the
 * daemon's memory and health endpoint did, so the bounds in docs/daemon.md (*Memory*)
 * can be checked.
 *
 * Per case: peak RSS (sampled every 100 ms; anonymous part separately, the rest is
 * file-backed LMDB map pages), /healthz latency p50/max and requests that got no answer
 * within 5 s, the largest `inFlight` /healthz reported, readings stored, and how long
 * SIGTERM took to exit (or that it did not within 30 s).
 *
 * `--heap A,B` runs every case once per daemon heap setting, in the same run (the
 * baseline beside the change): `default` = what `lmj-edge start` does by itself, `none` =
 * no limit (`LMJ_EDGE_HEAP_MB=0`), a number = that old-space limit in MB.
 *
 * `--base DIR` (another build: a checkout with its dist/ built) runs every case on that build's daemon too, just
 * before this build's, in the same run.
 *
 * Usage: node dist/bench/flood.js [--cases flood-embedded,flood-external,idle] [--clients 10]
 *        [--duration 5] [--idle 2000] [--in-flight N] [--heap default,none] [--base DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { listArg, numArg, strArg } from './lib/args.js';
import { baseCli, children, daemonPid, freePort, rssParts, spawnReady } from './lib/procs.js';
import { quantile } from './lib/report.js';
import { qos0Flood } from './lib/qos0-flood.js';

const CLI = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src', 'cli', 'main.js');

const CASES = ['flood-embedded', 'flood-external', 'idle'];
const cases = listArg('cases') ?? CASES;
for (const c of cases) if (!CASES.includes(c)) throw new Error(`--cases: unknown case ${c} (known: ${CASES.join(', ')})`);
const heaps = listArg('heap') ?? ['default'];
for (const h of heaps) {
  if (h !== 'default' && h !== 'none' && !(Number(h) > 0)) throw new Error(`--heap needs default, none or a positive number of MB (got ${h})`);
}

/** The daemons to run each case on: this build's, after `--base`'s when given. */
const builds = (() => {
  const base = strArg('base');
  if (base === undefined) return [{ label: '', cli: CLI }];
  return [{ label: ' (base)', cli: baseCli(base) }, { label: '', cli: CLI }];
})();
const CLIENTS = numArg('clients', 10, true);
const DURATION_S = numArg('duration', 5);
const IDLE = numArg('idle', 2000, true);
const IN_FLIGHT = process.argv.includes('--in-flight') ? numArg('in-flight', 20_000, true) : undefined;

/** The daemon's environment for one `--heap` setting. */
function heapEnv(heap: string): Record<string, string> {
  if (heap === 'default') return {};
  return { LMJ_EDGE_HEAP_MB: heap === 'none' ? '0' : String(Number(heap)) };
}


interface Watch {
  stop(): { peakMb: number; peakAnonMb: number; peakFileMb: number; healthP50: number; healthMax: number; unanswered: number; maxInFlight: number };
}


/** Samples RSS every 100 ms and polls /healthz back to back until stopped. */
function watch(pid: number, httpUrl: string): Watch {
  let peak = 0;
  let peakAnon = 0;
  let peakFile = 0;
  const lat: number[] = [];
  let unanswered = 0;
  let maxInFlight = 0;
  let on = true;
  const timer = setInterval(() => {
    const r = rssParts(pid);
    peak = Math.max(peak, r.total);
    peakAnon = Math.max(peakAnon, r.anon);
    peakFile = Math.max(peakFile, r.file);
  }, 100);
  void (async () => {
    while (on) {
      const t = performance.now();
      try {
        const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { inFlight?: number };
        lat.push(performance.now() - t);
        maxInFlight = Math.max(maxInFlight, body.inFlight ?? 0);
      } catch {
        unanswered++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: () => {
      on = false;
      clearInterval(timer);
      return { peakMb: peak, peakAnonMb: peakAnon, peakFileMb: peakFile, healthP50: quantile(lat, 0.5), healthMax: quantile(lat, 1), unanswered, maxInFlight };
    },
  };
}

async function startMosquitto(dir: string): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_inflight_messages 0', 'max_queued_messages 0', 'max_queued_bytes 268435456', ''].join('\n'));
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  children.add(proc);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return { proc, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('mosquitto did not start');
}

async function startDaemon(cli: string, dataDir: string, broker: string | undefined, heap: string): Promise<{ proc: ChildProcess; pid: number; http: string; mqttPort: number }> {
  const args = [cli, 'start', '--data', dataDir, '--http-port', '0', ...(broker === undefined ? ['--mqtt-port', '0'] : ['--broker', broker])];
  const pats = [/http listening on .*:(\d+)/, broker === undefined ? /mqtt listening on .*:(\d+)/ : /mqtt subscribed to /];
  const env: Record<string, string> = {
    ...heapEnv(heap),
    ...(IN_FLIGHT === undefined ? {} : { LMJ_EDGE_MQTT_MAX_IN_FLIGHT: String(IN_FLIGHT) }),
  };
  const { proc, matches } = await spawnReady(process.execPath, args, pats, env);
  return { proc, pid: daemonPid(proc.pid)!, http: `http://127.0.0.1:${matches[0]![1]}`, mqttPort: broker === undefined ? Number(matches[1]![1]) : 0 };
}

async function storedOf(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(10_000) })).text().catch(() => '');
  return Number(/lmj_messages_results_total\{status="stored"\} (\d+)/.exec(text)?.[1] ?? 0);
}

/** SIGTERM and the time to exit (ms), or -1 when still running after 30 s (then SIGKILL). */
async function term(proc: ChildProcess): Promise<number> {
  const t = performance.now();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
  if (!done) {
    proc.kill('SIGKILL');
    await exited;
    return -1;
  }
  return performance.now() - t;
}

async function floodCase(mode: 'embedded' | 'external', heap: string, build: { label: string; cli: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-flood-'));
  try {
    const mq = mode === 'external' ? await startMosquitto(dir) : undefined;
    const d = await startDaemon(build.cli, join(dir, 'data'), mq === undefined ? undefined : `mqtt://127.0.0.1:${mq.port}`, heap);
    const w = watch(d.pid, d.http);
    const flood = await qos0Flood({ port: mq?.port ?? d.mqttPort, clients: CLIENTS, durationMs: DURATION_S * 1000 });
    const stored = await storedOf(d.http);
    const r = w.stop();
    const termMs = await term(d.proc);
    mq?.proc.kill('SIGKILL');
    const fmt = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : '-');
    console.log(
      `| flood ${mode}, heap ${heap}${build.label} | ${flood.published} | ${stored} | ${fmt(r.peakMb)} (${fmt(r.peakAnonMb)} anon, ${fmt(r.peakFileMb)} file) | ${fmt(r.healthP50)} / ${fmt(r.healthMax)} ms, ${r.unanswered} unanswered | ${r.maxInFlight} | ${termMs < 0 ? '> 30 s' : `${fmt(termMs)} ms`} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens `n` MQTT connections (CONNECT, wait for CONNACK) and keeps them idle. */
async function idleConnections(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, k) =>
        new Promise<void>((res, rej) => {
          const s = connect(port, '127.0.0.1', () => s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `idle-${i + k}`, clean: true, keepalive: 600 })));
          s.once('data', () => res());
          s.once('error', rej);
          sockets.push(s);
        }),
      ),
    );
  }
  return sockets;
}

async function idleCase(heap: string, build: { label: string; cli: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-idle-'));
  try {
    const d = await startDaemon(build.cli, join(dir, 'data'), undefined, heap);
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssParts(d.pid);
    const n = IDLE;
    const sockets = await idleConnections(d.mqttPort, n);
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssParts(d.pid);
    const health = performance.now();
    await fetch(`${d.http}/healthz`);
    const healthMs = performance.now() - health;
    for (const s of sockets) s.destroy();
    const termMs = await term(d.proc);
    const perConn = ((after.total - before.total) * 1024 * 1024) / n / 1024;
    console.log(
      `| ${n} idle connections, heap ${heap}${build.label} | | | ${Math.round(after.total)} (${Math.round(after.anon)} anon, ${Math.round(after.file)} file; ${Math.round(before.total)} before, ${perConn.toFixed(1)} KiB per connection) | ${Math.round(healthMs)} ms | | ${termMs < 0 ? '> 30 s' : `${Math.round(termMs)} ms`} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`# daemon memory under abuse (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
console.log('| case | published | stored | peak RSS MB | /healthz p50 / max | max inFlight | SIGTERM → exit |');
console.log('|---|---|---|---|---|---|---|');
for (const c of cases) {
  for (const heap of heaps) {
    for (const build of builds) {
      if (c === 'flood-embedded') await floodCase('embedded', heap, build);
      else if (c === 'flood-external') await floodCase('external', heap, build);
      else if (c === 'idle') await idleCase(heap, build);
      else throw new Error(`unknown case ${c}`);
    }
  }
}
console.log(`# load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
process.exit(0);
