/**
 * The daemon's own V8 heap limit (docs/daemon.md, *Memory*).
 *
 * Why: without a limit Node sizes old space from the machine's memory (≈ 4 GiB on a
 * 64-bit host), and under load garbage piles up long before a major collection, so RSS
 * grows to hundreds of MB that hold mostly dead objects. V8 fixes the limit when the
 * process starts, so `lmj-edge start` re-executes itself once with
 * `--max-old-space-size` / `--max-semi-space-size` from `memory.heapMb` /
 * `memory.semiSpaceMb`, unless the Node that runs it already got a heap flag (in its
 * command line or `NODE_OPTIONS`), which then wins.
 *
 * The launcher stays as a thin parent: it relays SIGTERM and SIGINT over the IPC
 * channel (numbered, so a signal that reaches both processes at once — a terminal's
 * Ctrl-C, systemd's control-group kill — counts once) and exits with the child's code.
 * When the launcher dies without relaying (SIGKILL), the child's IPC channel closes and
 * the child kills itself with SIGKILL: nothing may outlive a killed daemon and hold its
 * ports and data directory.
 */
import { spawn } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';

/** Marks the re-executed child in its environment (removed there once read). */
export const REEXEC_ENV = 'LMJ_EDGE_HEAP_REEXEC';

/** True in the re-executed child; read once, so nothing the daemon spawns inherits the mark. */
const reexecuted = process.env[REEXEC_ENV] === '1';
delete process.env[REEXEC_ENV];

/** What the limit of this process is and where it came from. */
export interface HeapLimitInfo {
  /** V8's `heap_size_limit` of this process, MB (old space plus young generation). */
  limitMb: number;
  /** `config`: re-executed from memory.*; `node`: a heap flag of the Node command line or NODE_OPTIONS; `none`: memory.heapMb 0, V8's default. */
  source: 'config' | 'node' | 'none';
}

/** The signals the launcher relays; any other one acts on the launcher alone (and so, by the IPC rule, on the child). */
const RELAYED = ['SIGTERM', 'SIGINT'] as const;

// V8 takes its flags with dashes or underscores.
const HEAP_FLAG = /(^|\s)--(max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|max[-_]heap[-_]size)(=|\s|$)/;

/** True when Node was started with a heap flag of its own (command line or NODE_OPTIONS). */
export function nodeHasHeapFlag(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => HEAP_FLAG.test(a)) || (nodeOptions !== undefined && HEAP_FLAG.test(nodeOptions));
}

/** The Node flags for `memory.heapMb` / `memory.semiSpaceMb` (0 = leave that one to V8). */
export function heapFlags(memory: { heapMb: number; semiSpaceMb: number }): string[] {
  return [
    ...(memory.heapMb > 0 ? [`--max-old-space-size=${memory.heapMb}`] : []),
    ...(memory.semiSpaceMb > 0 ? [`--max-semi-space-size=${memory.semiSpaceMb}`] : []),
  ];
}

/** This process's heap limit and its source (for the start summary and the `started` log line). */
export function heapLimitInfo(): HeapLimitInfo {
  const limitMb = Math.round(getHeapStatistics().heap_size_limit / (1024 * 1024));
  if (reexecuted) return { limitMb, source: 'config' };
  return { limitMb, source: nodeHasHeapFlag(process.execArgv, process.env['NODE_OPTIONS']) ? 'node' : 'none' };
}

/**
 * Re-executes `lmj-edge start` with the configured heap flags when they are not in effect
 * yet; resolves `false` when this process is to run the daemon itself. Otherwise it never
 * resolves: the process exits with the child's exit code (or its signal).
 */
export function reexecWithHeapLimit(memory: { heapMb: number; semiSpaceMb: number }): Promise<false> {
  if (reexecuted) {
    relayFromLauncher();
    return Promise.resolve(false);
  }
  const flags = heapFlags(memory);
  if (flags.length === 0 || nodeHasHeapFlag(process.execArgv, process.env['NODE_OPTIONS'])) return Promise.resolve(false);
  const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [REEXEC_ENV]: '1' },
  });
  let relayed = 0;
  const relay = (signal: NodeJS.Signals): void => {
    relayed++;
    if (child.connected) child.send({ signal, n: relayed });
    else child.kill(signal);
  };
  for (const s of RELAYED) process.on(s, relay);
  child.on('error', (err) => {
    process.stderr.write(`lmj-edge: cannot re-execute with the heap limit: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      for (const s of RELAYED) process.removeAllListeners(s);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
  return new Promise<false>(() => undefined);
}

/** The numbered signals the launcher relays, delivered to `process` as if they came here. */
const relayHandlers: Array<(signal: NodeJS.Signals, n: number) => void> = [];

/** Calls `fn` for every signal the launcher relays (`n`: how many the launcher got so far). */
export function onRelayedSignal(fn: (signal: NodeJS.Signals, n: number) => void): void {
  relayHandlers.push(fn);
}

function relayFromLauncher(): void {
  process.on('message', (m: unknown) => {
    const msg = m as { signal?: unknown; n?: unknown } | null;
    if (msg === null || typeof msg.signal !== 'string' || typeof msg.n !== 'number') return;
    const signal = msg.signal as NodeJS.Signals;
    // Before the daemon installed its handlers, a signal acts as it would on an unwrapped one.
    if (relayHandlers.length === 0) process.kill(process.pid, signal);
    for (const fn of relayHandlers) fn(signal, msg.n);
  });
  // The launcher is gone without telling us (SIGKILL): die like it did.
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  // The channel must not keep the daemon's event loop alive on its own.
  process.channel?.unref();
}
