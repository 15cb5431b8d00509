/** Child processes of the benches: spawn until ready, CPU, RSS, disk use, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

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

export const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Spawns a process and resolves once a stdout line matches every pattern (returns the matches). */
export async function spawnReady(cmd: string, args: string[], patterns: RegExp[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; matches: RegExpExecArray[] }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'warn', ...env } });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const matches = await new Promise<RegExpExecArray[]>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${cmd} not ready:\n${out}\n${err}`)), 20_000);
    proc.once('exit', (code) => rej(new Error(`${cmd} exited (${code}):\n${out}\n${err}`)));
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
