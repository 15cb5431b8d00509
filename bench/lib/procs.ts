/** Child processes of the benches: spawn until ready, CPU, RSS, disk use, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { heapFlags } from '../../src/cli/heap-limit.js';
import { defaultConfig } from '../../src/gateway/config/index.js';
import { numArg } from './args.js';

const CLK_TCK = 100;

/** CPU seconds (user + system) of a live process, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of a live process in MB. */
export function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * Node flags that give a daemon its default heap limit directly, so `lmj-edge start` does
 * not re-execute itself and the spawned process is the daemon (one CPU profile, one pid).
 */
export const DAEMON_HEAP_FLAGS: readonly string[] = heapFlags(defaultConfig().memory);

/**
 * The process that runs the daemon started as `pid`: `lmj-edge start` re-executes itself
 * with its heap limit (src/cli/launcher.ts), so the daemon is then the launcher's one
 * child; `pid` itself when it did not (a heap flag given to node, `LMJ_EDGE_HEAP_MB=0`).
 */
export function daemonPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((k) => k !== '');
    return kids.length === 1 ? Number(kids[0]) : pid;
  } catch {
    return pid;
  }
}

/** RSS of a live process and its parts, MB (zeros once it is gone). */
export function rssParts(pid: number | undefined): { total: number; anon: number; file: number } {
  if (pid === undefined) return { total: 0, anon: 0, file: 0 };
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;
    return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { total: 0, anon: 0, file: 0 };
  }
}

/**
 * Samples a process's RSS every `everyMs` until stopped; returns the peaks of its
 * anonymous part (heap and native allocations: what the process holds) and of its
 * file-backed part (the node binary and LMDB map pages: page cache the kernel can
 * reclaim). The kernel keeps a high-water mark only of the total (VmHWM).
 */
export function sampleRss(pid: number | undefined, everyMs = 100): { stop(): { anonMb: number; fileMb: number } } {
  let anon = 0;
  let file = 0;
  const take = (): void => {
    const r = rssParts(pid);
    anon = Math.max(anon, r.anon);
    file = Math.max(file, r.file);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return { anonMb: anon, fileMb: file };
    },
  };
}

export const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * How long {@link spawnReady} waits by default: the bench's `--ready-timeout S`, else
 * 120 s (on a loaded machine etcd or a daemon takes well over 20 s to listen; a process
 * that exits first is reported at once, so only a hung one waits this long).
 */
export const READY_TIMEOUT_MS = numArg('ready-timeout', 120) * 1000;

/** The command line of a spawned process, shortened for an error message. */
function commandLine(cmd: string, args: string[]): string {
  const line = [basename(cmd), ...args].join(' ');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * Spawns a process and resolves once its stdout matches every pattern (returns the
 * matches); rejects, naming the command and the patterns still unmatched, when it exits
 * first or is not ready within `readyMs`.
 */
export async function spawnReady(cmd: string, args: string[], patterns: RegExp[], env: Record<string, string> = {}, readyMs = READY_TIMEOUT_MS): Promise<{ proc: ChildProcess; matches: RegExpExecArray[] }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'warn', ...env } });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const matches = await new Promise<RegExpExecArray[]>((res, rej) => {
    const unmatched = (): string => patterns.filter((p) => !p.test(out)).join(', ');
    const t = setTimeout(
      () => rej(new Error(`${commandLine(cmd, args)} not ready within ${readyMs / 1000} s (--ready-timeout S waits longer): stdout did not match ${unmatched()}:\n${out}\n${err}`)),
      readyMs,
    );
    proc.once('exit', (code, signal) => {
      clearTimeout(t);
      rej(new Error(`${commandLine(cmd, args)} exited (${signal ?? code}) before stdout matched ${unmatched()}:\n${out}\n${err}`));
    });
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const found = patterns.map((p) => p.exec(out));
      if (found.every((m) => m !== null)) {
        clearTimeout(t);
        res(found as RegExpExecArray[]);
      }
    });
  });
  return { proc, matches };
}

export async function stop(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Bytes allocated on disk (st_blocks) by every file under `dir`. */
export function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).blocks * 512;
  }
  return n;
}

/**
 * The CLI of another build for `--base DIR`: DIR is a checkout with its dist/ built (or
 * that dist/ itself); an error names DIR when neither holds dist/src/cli/main.js.
 */
export function baseCli(dir: string): string {
  for (const cli of [join(resolve(dir), 'dist', 'src', 'cli', 'main.js'), join(resolve(dir), 'src', 'cli', 'main.js')]) {
    if (existsSync(cli)) return cli;
  }
  throw new Error(`--base ${dir}: no built CLI there (expected ${join(dir, 'dist', 'src', 'cli', 'main.js')}; run npm run build in it)`);
}
