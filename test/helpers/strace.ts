/**
 * Runs a real child process under strace and parses what it asked the kernel to do,
 * in order: the durability tests assert that a data sync of the right file completed
 * before the child announced (or sent) an acknowledgement. strace serializes the
 * system calls of all threads into one file, so line order is completion order.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One completed system call (an interrupted one is merged with its "resumed" line). */
export interface Syscall {
  /** Position in completion order. */
  index: number;
  pid: number;
  name: string;
  /** The first argument's file descriptor and what it refers to (strace -yy). */
  fd: number | undefined;
  path: string | undefined;
  args: string;
  /** The return value as printed (`0`, `-1 EIO (…)`). */
  result: string;
}

/** The calls traced: data syncs, and the writes that carry acknowledgements. */
export const TRACED = 'trace=fdatasync,fsync,msync,sync_file_range,write,writev,sendto,sendmsg';

/** strace arguments for `-o out`; `-xx` prints every string byte as `\xNN`. */
export function straceArgs(out: string): string[] {
  return ['-f', '--seccomp-bpf', '-qq', '-yy', '-xx', '-s', '256', '-e', TRACED, '-o', out];
}

const LINE = /^(\d+) +(\w+)\((.*)\) += (.*)$/;
const UNFINISHED = /^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$/;
const RESUMED = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$/;

/** Parses `strace -f -o` output into completed calls. */
export function parseStrace(text: string): Syscall[] {
  const out: Syscall[] = [];
  const pending = new Map<string, string>();
  const push = (pid: number, name: string, args: string, result: string): void => {
    const fdm = /^(\d+)<([^>]*)>/.exec(args);
    // -xx prints the fd's path hex-escaped as well.
    const path = fdm === null ? undefined : unescapeHex(fdm[2]!).toString('utf8');
    out.push({ index: out.length, pid, name, fd: fdm ? Number(fdm[1]) : undefined, path, args, result });
  };
  for (const line of text.split('\n')) {
    let m = LINE.exec(line);
    if (m) {
      push(Number(m[1]), m[2]!, m[3]!, m[4]!);
      continue;
    }
    m = UNFINISHED.exec(line);
    if (m) {
      pending.set(`${m[1]} ${m[2]}`, m[3]!);
      continue;
    }
    m = RESUMED.exec(line);
    if (m) {
      const key = `${m[1]} ${m[2]}`;
      push(Number(m[1]), m[2]!, (pending.get(key) ?? '') + m[3]!, m[4]!);
      pending.delete(key);
    }
  }
  return out;
}

function unescapeHex(s: string): Buffer {
  return Buffer.from(s.replace(/\\x([0-9a-f]{2})|([^\\])/g, (_m, h: string | undefined, c: string | undefined) => h ?? Buffer.from(c!, 'latin1').toString('hex')), 'hex');
}

/** The bytes of every `"\xNN…"` string argument of a call, concatenated (write, writev, sendto). */
export function writtenBytes(call: Syscall): Buffer {
  const parts = [...call.args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unescapeHex(m[1]!));
  return Buffer.concat(parts);
}

/** True for a successful data sync (fsync, fdatasync, msync) of a file whose path ends with `suffix`. */
export function isDataSync(call: Syscall, suffix: string): boolean {
  return ['fsync', 'fdatasync', 'msync', 'sync_file_range'].includes(call.name) && call.result === '0' && (call.path ?? '').endsWith(suffix);
}

/** Result of {@link runTraced}. */
export interface TracedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  calls: Syscall[];
}

/** Runs `cmd args` under strace to completion; `dir` receives the trace file. */
export async function runTraced(dir: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<TracedRun> {
  const file = join(dir, 'strace.out');
  const child = spawn('strace', [...straceArgs(file), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  return { code, stdout, stderr, calls: parseStrace(readFileSync(file, 'utf8')) };
}

/** The pid of the one child strace started (its tracee), from /proc. */
export function traceePid(stracePid: number): number {
  const children = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`strace ${stracePid} has children [${children.join(', ')}], expected one`);
  return Number(children[0]);
}
