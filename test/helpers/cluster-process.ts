/**
 * Cluster processes for end-to-end tests: `lmj-edge node` and `lmj-edge router --etcd`
 * as real children (fast durability, short leases), each SIGKILLed when the test ends.
 * Requires `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT, assertBuilt, killWhenTestEnds } from './daemon.js';

/** A running cluster process. */
export interface ClusterProc {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<unknown>;
  kill(signal?: NodeJS.Signals): Promise<unknown>;
}

/** How a cluster process is spawned. */
export interface SpawnOptions {
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Started inside a test but used by later tests of the file: not killed when the test ends (the file's afterAll must kill it). */
  outliveTest?: boolean;
}

async function spawnReady(args: string[], ready: RegExp, opts: SpawnOptions = {}): Promise<ClusterProc> {
  assertBuilt();
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  if (opts.outliveTest !== true) killWhenTestEnds(proc);
  const exited = new Promise((res) => proc.once('exit', res));
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = ready.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`${args[0]} exited: ${err}`)));
    // 60 s: on a heavily shared machine (load average 25+ on 2 cores) a start has taken over 30 s.
    setTimeout(() => reject(new Error(`${args[0]} not ready: ${out} ${err}`)), 60_000).unref();
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** `lmj-edge node --etcd URLS --node-id ID --data DIR [--group G] [extra…]` on `port` (0 = free), lease TTL `ttl` s. */
export function startNodeProcess(etcd: readonly string[], id: string, dataDir: string, opts: { port?: number; ttl?: number; group?: string; extra?: readonly string[] } & SpawnOptions = {}): Promise<ClusterProc> {
  return spawnReady(
    ['node', '--etcd', etcd.join(','), '--node-id', id, '--data', dataDir, '--http-port', String(opts.port ?? 0), '--ttl', String(opts.ttl ?? 3), '--durability', 'fast', '--log-level', 'warn', ...(opts.group === undefined ? [] : ['--group', opts.group]), ...(opts.extra ?? [])],
    /^node \S+ listening on [^\n]*:(\d+)$/m,
    opts,
  );
}

/** `lmj-edge router --etcd URLS --tokens FILE [--group G] [extra…]` on `port`. */
export function startClusterRouterProcess(etcd: readonly string[], port: number, tokens: string, group?: string, extra: readonly string[] = [], opts: SpawnOptions = {}): Promise<ClusterProc> {
  return spawnReady(
    ['router', '--etcd', etcd.join(','), '--http-port', String(port), '--tokens', tokens, '--log-level', 'warn', ...(group === undefined ? [] : ['--group', group]), ...extra],
    /^router listening on [^\n]*:(\d+)$/m,
    opts,
  );
}
