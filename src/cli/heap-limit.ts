/**
 * The daemon's own V8 heap limit (docs/daemon.md, *Memory*).
 *
 * Why: without a limit Node sizes old space from the machine's memory (≈ 4 GiB on a
 * 64-bit host), and under load garbage piles up long before a major collection, so RSS
 * grows to hundreds of MB that hold mostly dead objects. V8 fixes the limit when the
 * process starts, so `lmj-edge start` re-executes itself once with
 * `--max-old-space-size` / `--max-semi-space-size` from `memory.heapMb` /
 * `memory.semiSpaceMb` (the launcher, ./launcher.ts), unless the Node that runs it
 * already got a heap flag (in its command line or `NODE_OPTIONS`), which then wins.
 *
 * This file holds the flags and the daemon's side of the launcher: the signals it
 * relays, and SIGKILL when the launcher dies without relaying (its IPC channel closes):
 * nothing may outlive a killed daemon and hold its ports and data directory. It loads
 * only Node built-ins: the launcher imports it before anything else.
 */
import { getHeapStatistics } from 'node:v8';

/** Marks the re-executed child in its environment, with the heap flags it got (removed there once read). */
export const REEXEC_ENV = 'LMJ_EDGE_HEAP_REEXEC';

/** The launcher's flags in the re-executed child; read once, so nothing the daemon spawns inherits the mark. */
const launched = process.env[REEXEC_ENV];
delete process.env[REEXEC_ENV];

/** The heap flags (space-separated) this process was launched with by ./launcher.ts; undefined when it was not. */
export function launchedFlags(): string | undefined {
  return launched;
}

/** What the limit of this process is and where it came from. */
export interface HeapLimitInfo {
  /** V8's `heap_size_limit` of this process, MB (old space plus young generation). */
  limitMb: number;
  /** `config`: re-executed from memory.*; `node`: a heap flag of the Node command line or NODE_OPTIONS; `none`: memory.heapMb 0, V8's default. */
  source: 'config' | 'node' | 'none';
}

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
  if (launched !== undefined) return { limitMb, source: 'config' };
  return { limitMb, source: nodeHasHeapFlag(process.execArgv, process.env['NODE_OPTIONS']) ? 'node' : 'none' };
}

/** The numbered signals the launcher relays, delivered to `process` as if they came here. */
const relayHandlers: Array<(signal: NodeJS.Signals, n: number) => void> = [];

/** Calls `fn` for every signal the launcher relays (`n`: how many the launcher got so far). */
export function onRelayedSignal(fn: (signal: NodeJS.Signals, n: number) => void): void {
  relayHandlers.push(fn);
}

/** In the re-executed child: takes the launcher's relayed signals, and dies with the launcher. */
export function relayFromLauncher(): void {
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
