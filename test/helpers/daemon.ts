/**
 * Starts the compiled daemon (`node dist/src/cli/main.js start …`) as a real child
 * process and parses its "listening" lines. Requires `npm run build` first.
 * Every process started here is SIGKILLed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { heapFlags } from '../../src/cli/heap-limit.js';
import { defaultConfig } from '../../src/gateway/config/index.js';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled CLI entry. */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** The installed entry point, which launches `start` before it loads the CLI (src/cli/launcher.ts). */
export const BIN = join(ROOT, 'bin', 'lmj-edge.js');

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  dataDir: string;
  /** Embedded broker port (default 0 = free port). */
  mqttPort?: number;
  /** HTTP port (default 0). */
  httpPort?: number;
  /** External broker URL (external mode). */
  broker?: string;
  /** More CLI flags. */
  args?: string[];
  env?: Record<string, string>;
  /** How long to wait for the listening lines (default 20 s). */
  timeoutMs?: number;
  /** A command the daemon runs under (e.g. strace and its flags); `proc` is then that command. */
  wrap?: string[];
  /**
   * Start node without heap flags, so `start` re-executes itself with memory.heapMb and
   * `proc` is the launcher (src/cli/launcher.ts). Default: node gets the default heap
   * flags itself, so `proc` is the daemon and a SIGKILL reaches it directly.
   */
  reexec?: boolean;
  /** Run {@link BIN} instead of {@link CLI}. */
  bin?: boolean;
}

/** A running daemon process. */
export interface DaemonProcess {
  proc: ChildProcess;
  /** `mqtt://127.0.0.1:PORT` of the embedded broker (undefined in external mode). */
  mqttUrl: string | undefined;
  mqttPort: number | undefined;
  httpUrl: string;
  httpPort: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Inside a test, SIGKILL the process when the test ends (also on timeout); outside, the exit hook does. */
export function killWhenTestEnds(proc: ChildProcess): void {
  try {
    onTestFinished(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
  } catch {
    // Called from a hook (beforeAll…): the caller or the exit hook cleans up.
  }
}

/** Throws a clear error when the compiled CLI is missing. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run "npm run build" (or "npm run build:ts") before these tests`);
  }
}

/** Starts `lmj-edge start` and resolves once it printed its listening lines. */
export async function startDaemon(opts: DaemonOptions): Promise<DaemonProcess> {
  assertBuilt();
  const args = [...(opts.reexec === true ? [] : heapFlags(defaultConfig().memory)), opts.bin === true ? BIN : CLI, 'start', '--data', opts.dataDir, '--http-port', String(opts.httpPort ?? 0)];
  if (opts.broker !== undefined) args.push('--broker', opts.broker);
  else args.push('--mqtt-port', String(opts.mqttPort ?? 0));
  args.push(...(opts.args ?? []));
  const [cmd, ...pre] = opts.wrap ?? [process.execPath];
  const proc = spawn(cmd!, opts.wrap === undefined ? args : [...pre, process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  killWhenTestEnds(proc);
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | string>((res) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      res(code ?? signal ?? 'unknown');
    }),
  );
  const ready = new Promise<{ mqtt?: number; http: number }>((res, rej) => {
    let mqtt: number | undefined;
    let http: number | undefined;
    let subscribed = false;
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      for (const line of out.split('\n')) {
        const m = /^mqtt listening on (.+):(\d+)$/.exec(line);
        if (m) mqtt = Number(m[2]);
        const h = /^http listening on (.+):(\d+)$/.exec(line);
        if (h) http = Number(h[2]);
        if (/^mqtt subscribed to /.test(line)) subscribed = true;
      }
      if (http !== undefined && (opts.broker !== undefined ? subscribed : mqtt !== undefined)) {
        res(mqtt === undefined ? { http } : { mqtt, http });
      }
    });
    void exited.then((code) => rej(new Error(`daemon exited (${code}) before listening:\n${err}`)));
    setTimeout(() => rej(new Error(`daemon not ready after ${opts.timeoutMs ?? 20_000} ms:\n${out}\n${err}`)), opts.timeoutMs ?? 20_000).unref();
  });
  let ports: { mqtt?: number; http: number };
  try {
    ports = await ready;
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    proc,
    mqttPort: ports.mqtt,
    mqttUrl: ports.mqtt === undefined ? undefined : `mqtt://127.0.0.1:${ports.mqtt}`,
    httpPort: ports.http,
    httpUrl: `http://127.0.0.1:${ports.http}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
