/**
 * Starts real etcd processes (`/usr/bin/etcd`, Debian etcd-server 3.4) on free loopback
 * ports, each member in its own temp data dir: a single member or a 3-member cluster.
 * Helpers SIGKILL a member, find and kill the Raft leader, or stop every member for a
 * while and restart it on the same data dir. Every process is SIGKILLed and every dir
 * removed when the test process exits; {@link EtcdCluster.destroy} does it earlier
 * (call it from `afterAll`: one cluster is shared per test file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** One etcd member. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  /** The running process, or null while the member is down. */
  proc: ChildProcess | null;
  /** Everything the member logged (all runs). */
  log(): string;
}

/** A running etcd cluster (1 or 3 members). */
export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of all members, for `--etcd` and the client. */
  urls: string[];
  /** SIGKILLs one member and waits for its exit. */
  kill(member: EtcdMember): Promise<void>;
  /** Restarts a killed member on its data dir and waits until it serves. */
  restart(member: EtcdMember): Promise<void>;
  /** The current Raft leader (asked over the members' HTTP gateway). */
  leader(): Promise<EtcdMember>;
  /** SIGKILLs the leader; resolves with it once the others elected a new one. */
  killLeader(): Promise<EtcdMember>;
  /** SIGKILLs every member, waits `seconds`, restarts all on their data dirs and waits until healthy. */
  stopFor(seconds: number, whileDown?: () => Promise<void>): Promise<void>;
  /** Waits until a quorum answers `/health` with true. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** SIGKILLs everything and removes the data dirs. */
  destroy(): Promise<void>;
}

const BINARY = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p)) ?? 'etcd';
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

function spawnMember(m: EtcdMember, initialCluster: string, logs: Map<string, string>): ChildProcess {
  const proc = spawn(
    BINARY,
    [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `lmj-test-${process.pid}`,
      // Two cores shared by many test processes: etcd's defaults (100 ms / 1 s) hold up;
      // shorter timeouts would cause elections nobody asked for.
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(proc);
  const append = (b: Buffer): void => {
    logs.set(m.name, (logs.get(m.name) ?? '') + b.toString());
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

async function killProc(proc: ChildProcess | null): Promise<void> {
  if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGKILL');
  await exited;
}

/** Starts an etcd cluster of `size` members (1 or 3) and waits until it is healthy. */
export async function startEtcd(size: 1 | 3 = 1): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'lmj-etcd-'));
  dirs.add(root);
  const logs = new Map<string, string>();
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    const name = `m${i}`;
    members.push({
      name,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, name),
      proc: null,
      log: () => logs.get(name) ?? '',
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

  const waitServing = async (m: EtcdMember, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await healthy(m.clientUrl))) {
      if (m.proc === null || m.proc.exitCode !== null) throw new Error(`etcd ${m.name} exited: ${m.log()}`);
      if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy after ${timeoutMs} ms: ${m.log()}`);
      await sleep(100);
    }
  };

  const cluster: EtcdCluster = {
    members,
    urls: members.map((m) => m.clientUrl),
    async kill(m) {
      await killProc(m.proc);
      m.proc = null;
    },
    async restart(m) {
      if (m.proc !== null) throw new Error(`etcd ${m.name} is running`);
      m.proc = spawnMember(m, initialCluster, logs);
      await waitServing(m, 30_000);
    },
    async leader() {
      const deadline = Date.now() + 20_000;
      for (;;) {
        for (const m of members) {
          if (m.proc === null) continue;
          try {
            const s = (await postJson(`${m.clientUrl}/v3/maintenance/status`, {})) as { header?: { member_id?: string }; leader?: string };
            if (s.leader !== undefined && s.leader !== '0' && s.leader === s.header?.member_id) return m;
          } catch {
            // A member that is down or electing: ask the next one.
          }
        }
        if (Date.now() > deadline) throw new Error('no etcd leader after 20 s');
        await sleep(100);
      }
    },
    async killLeader() {
      const old = await cluster.leader();
      await cluster.kill(old);
      await cluster.leader();
      return old;
    },
    async stopFor(seconds, whileDown) {
      for (const m of members) await cluster.kill(m);
      const until = Date.now() + seconds * 1000;
      if (whileDown !== undefined) await whileDown();
      await sleep(Math.max(0, until - Date.now()));
      for (const m of members) m.proc = spawnMember(m, initialCluster, logs);
      await cluster.waitHealthy(30_000);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const m of members) if (m.proc !== null && (await healthy(m.clientUrl))) return;
        if (Date.now() > deadline) throw new Error(`etcd not healthy after ${timeoutMs} ms: ${members.map((m) => m.log()).join('\n')}`);
        await sleep(100);
      }
    },
    async destroy() {
      for (const m of members) await cluster.kill(m);
      rmSync(root, { recursive: true, force: true });
      dirs.delete(root);
    },
  };

  try {
    for (const m of members) m.proc = spawnMember(m, initialCluster, logs);
    await cluster.waitHealthy(30_000);
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
