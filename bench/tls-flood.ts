/**
 * `node dist/bench/tls-flood.js [--cap 500] [--rounds 5]`: the daemon's memory under
 * repeated TLS handshake floods on its MQTT TLS port, against its own idle memory and its
 * first round in the same run. The daemon runs as a child (`lmj-edge start` with an
 * openssl-made certificate, `mqtt.maxConnections` = cap, handshake timeout 3 s); this
 * process floods it. Each round opens 5 x cap connections that announce a 16 KiB TLS
 * handshake record and send 1 KiB of it (the server buffers what it got and waits); the
 * cap refuses the excess at accept, the timeout drops the rest. Measured at the peak of
 * each round and after it: VmRSS, and V8 heap used + external memory from the daemon's
 * own /metrics (plain loopback twin). Bounded means: later rounds cost what the first did.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numArg } from './lib/args.js';
import { median } from './lib/report.js';
import { daemonPid } from './lib/procs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');


function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** A self-signed server certificate made by openssl in `dir`. */
function certificate(dir: string): { cert: string; key: string } {
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '2'], { stdio: 'ignore' });
  return { cert, key };
}

/** A TLS record header for a 16 KiB handshake record, then 1 KiB of it. */
const PARTIAL_HELLO = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), Buffer.alloc(1024, 0x01)]);

/** Opens `n` connections (each sending `payload`, if any); resolves once all are connected or refused. */
async function flood(port: number, n: number, payload: Buffer | undefined): Promise<{ sockets: Socket[]; closed: Promise<void> }> {
  const sockets: Socket[] = [];
  const closings: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((res) => {
        const s = connect(port, '127.0.0.1', () => {
          if (payload !== undefined) s.write(payload);
          res();
        });
        s.on('error', () => res());
        closings.push(new Promise((c) => s.once('close', () => c())));
        sockets.push(s);
      }),
    ),
  );
  return { sockets, closed: Promise.all(closings).then(() => undefined) };
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** V8 heap used + external memory of the daemon (MB), from its /metrics. */
async function heapMb(plainPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${plainPort}/metrics`)).text();
  const value = (name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? Number.NaN);
  return (value('lmj_nodejs_heap_size_used_bytes') + value('lmj_nodejs_external_memory_bytes')) / 1024 / 1024;
}

async function main(): Promise<void> {
  const cap = numArg('cap', 500, true);
  const rounds = numArg('rounds', 5, true);
  // Later rounds are compared with the first: one round has nothing to compare.
  if (rounds < 2) throw new Error('--rounds needs at least 2');
  const dir = mkdtempSync(join(tmpdir(), 'lmj-tls-flood-'));
  const { cert, key } = certificate(dir);
  const args = ['start', '--data', join(dir, 'data'), '--mqtt-port', '0', '--http-port', '0', '--http-plain-port', '0', '--tls-cert', cert, '--tls-key', key, '--mqtt-tls-port', '0', '--tls-handshake-timeout', '3000', '--durability', 'fast', '--log-level', 'error'];
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LMJ_EDGE_MQTT_MAX_CONNECTIONS: String(cap) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ tls: number; plain: number }>((res, rej) => {
    let out = '';
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const t = /^mqtts listening on [^\n]*:(\d+)$/m.exec(out);
      const p = /^http plain listening on [^\n]*:(\d+)$/m.exec(out);
      if (t !== null && p !== null && out.includes('  upstream:')) res({ tls: Number(t[1]), plain: Number(p[1]) });
    });
    proc.once('exit', (c) => rej(new Error(`daemon exited ${c}`)));
  });
  const pid = daemonPid(proc.pid) as number;
  const rows: { name: string; rss: number; heap: number }[] = [];
  const sample = async (name: string): Promise<void> => {
    rows.push({ name, rss: rssMb(pid), heap: await heapMb(ports.plain) });
  };
  try {
    await settle(500);
    await sample('idle');
    for (let round = 1; round <= rounds; round++) {
      const f = await flood(ports.tls, 5 * cap, PARTIAL_HELLO);
      await settle(300);
      await sample(`round ${round}: ${5 * cap} partial hellos (peak)`);
      await f.closed;
      await settle(300);
      await sample(`round ${round}: after the timeout`);
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  const idle = rows[0]!;
  const first = rows[1]!;
  const laterPeaks = rows.filter((r, i) => i > 1 && r.name.endsWith('(peak)'));
  console.log(`# TLS handshake flood on the MQTT TLS port (cap ${cap} connections, handshake timeout 3 s, ${rounds} rounds)`);
  console.log('| sample | VmRSS MB | heap used + external MB | RSS growth vs round 1 peak growth |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    const ratio = r === idle ? '(baseline: idle)' : `${((r.rss - idle.rss) / (first.rss - idle.rss)).toFixed(2)}x`;
    console.log(`| ${r.name} | ${r.rss.toFixed(1)} | ${r.heap.toFixed(1)} | ${ratio} |`);
  }
  console.log(`median later-round peak RSS growth / round-1 peak growth: ${(median(laterPeaks.map((r) => r.rss - idle.rss)) / (first.rss - idle.rss)).toFixed(2)}x`);
}

await main();
