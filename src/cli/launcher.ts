/**
 * The launcher of `lmj-edge start`: the parent process that re-executes Node with the
 * daemon's heap flags (src/cli/heap-limit.ts, docs/daemon.md *Memory*) and then only
 * relays signals and passes the exit code through.
 *
 * bin/lmj-edge.js calls {@link launchFromArgv} before it imports the CLI, so the launcher
 * that stays alive for the daemon's lifetime holds what a bare Node holds, not the CLI
 * and its dependencies. It decides from the command line and the environment (and the
 * `memory` keys of a `--config` file) alone; whenever it cannot tell for sure, it leaves
 * the decision to `start` itself ({@link reexecWithHeapLimit}), which reads the full
 * configuration. The daemon checks that the flags it was launched with are the ones its
 * configuration asks for and re-executes once more if not.
 *
 * This module and what it imports load nothing but Node built-ins.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_HEAP_MB, DEFAULT_SEMI_SPACE_MB } from '../gateway/config/memory-defaults.js';
import { REEXEC_ENV, heapFlags, launchedFlags, nodeHasHeapFlag, relayFromLauncher } from './heap-limit.js';

/** The signals the launcher relays; any other one acts on the launcher alone (and so, by the IPC rule, on the child). */
const RELAYED = ['SIGTERM', 'SIGINT'] as const;

type Memory = { heapMb: number; semiSpaceMb: number };

/**
 * Runs the daemon as a child of this process: `node <flags> <this process's node flags
 * and arguments>`. Relays SIGTERM and SIGINT over the IPC channel (numbered, so a signal
 * that reaches both processes at once — a terminal's Ctrl-C, systemd's control-group
 * kill — counts once) and exits with the child's code, or dies of its signal. When this
 * process dies without relaying (SIGKILL), the child's IPC channel closes and the child
 * kills itself (heap-limit.ts): nothing may outlive a killed daemon and hold its ports
 * and data directory. Never returns control: the process ends with the child.
 */
function launch(flags: readonly string[]): void {
  // A daemon that re-executes once more (its flags were not its configuration's) drops
  // the ones it was launched with: they lead its node flags.
  const own = launchedFlags();
  const execArgv = own === undefined || own === '' ? process.execArgv : process.execArgv.slice(own.split(' ').length);
  const child = spawn(process.execPath, [...flags, ...execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [REEXEC_ENV]: flags.join(' ') },
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
}

/**
 * Re-executes `lmj-edge start` with the configured heap flags when they are not in effect
 * yet; resolves `false` when this process is to run the daemon itself. Otherwise it never
 * resolves: the process exits with the child's exit code (or its signal).
 */
export function reexecWithHeapLimit(memory: Memory): Promise<false> {
  const flags = heapFlags(memory);
  const launched = launchedFlags();
  if (launched !== undefined) {
    relayFromLauncher();
    if (launched === flags.join(' ')) return Promise.resolve(false);
  } else if (flags.length === 0 || nodeHasHeapFlag(process.execArgv, process.env['NODE_OPTIONS'])) {
    return Promise.resolve(false);
  }
  launch(flags);
  return new Promise<false>(() => undefined);
}

/** The value of `--name V` / `--name=V` (the last one wins, as for the CLI); undefined when absent. */
function optionValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name) value = args[++i] ?? '';
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  }
  return value;
}

/** A non-negative integer as the config accepts it (a number, or decimal digits); null when not one. */
function megabytes(raw: unknown): number | null {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  const n = typeof text === 'number' ? text : typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** The `memory` object of a JSON config file; null when the file cannot be read as one. */
function fileMemory(file: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const memory = (parsed as Record<string, unknown>)['memory'];
    if (memory === undefined) return {};
    return memory !== null && typeof memory === 'object' && !Array.isArray(memory) ? (memory as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * memory.heapMb / memory.semiSpaceMb of a `start` command line, by the config's
 * precedence (flag > env > file > default); null when a source is malformed or
 * unreadable, so that `start` reports it.
 */
export function memoryOf(args: readonly string[], env: Record<string, string | undefined>): Memory | null {
  const file = optionValue(args, '--config');
  const fromFile = file === undefined ? {} : fileMemory(file);
  if (fromFile === null) return null;
  const pick = (flag: string | undefined, envValue: string | undefined, fileValue: unknown, def: number): number | null => {
    const raw = flag ?? envValue ?? fileValue;
    return raw === undefined ? def : megabytes(raw);
  };
  const heapMb = pick(optionValue(args, '--heap-mb'), env['LMJ_EDGE_HEAP_MB'], fromFile['heapMb'], DEFAULT_HEAP_MB);
  const semiSpaceMb = pick(undefined, env['LMJ_EDGE_SEMI_SPACE_MB'], fromFile['semiSpaceMb'], DEFAULT_SEMI_SPACE_MB);
  return heapMb === null || semiSpaceMb === null ? null : { heapMb, semiSpaceMb };
}

/**
 * bin/lmj-edge.js's first step: when `argv` is a `start` that needs heap flags, launches
 * the daemon with them and returns true (this process then only relays and exits with
 * the daemon); false when the CLI is to run in this process.
 */
export function launchFromArgv(argv: readonly string[] = process.argv): boolean {
  const args = argv.slice(3);
  if (argv[2] !== 'start' || args.includes('--help') || args.includes('-h')) return false;
  if (launchedFlags() !== undefined || nodeHasHeapFlag(process.execArgv, process.env['NODE_OPTIONS'])) return false;
  const memory = memoryOf(args, process.env);
  if (memory === null) return false;
  const flags = heapFlags(memory);
  if (flags.length === 0) return false;
  launch(flags);
  return true;
}
