/**
 * Runs one of this directory's child scripts in a separate Node process and
 * collects what it said. An LMDB environment is memory-mapped: a corrupt page can
 * abort the process that touches it (`mdb.c` assertions, SIGBUS, SIGSEGV), which
 * no try/catch survives, so every read of a suspect instance happens in a child.
 *
 * Protocol: the child writes one JSON object per line on stdout (pipes are
 * synchronous on Linux, so a line written before a crash arrives) and exits 0
 * when it finished. Anything else (exit code, signal, timeout) is the caller's
 * verdict to draw.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How a child ended and what it reported. */
export interface ChildOutcome {
  /** Parsed stdout lines, in order. */
  messages: Record<string, unknown>[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Ended by the caller's abort signal. */
  aborted: boolean;
  /** The last bytes of its stderr (where liblmdb prints its assertion). */
  stderrTail: string;
}

const STDERR_TAIL = 2048;

/**
 * The script and the Node flags to run it: compiled `.js` next to this file in
 * dist/, or the `.ts` source through tsx's loader when running from src/ (tests).
 */
function childCommand(name: string): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return { script: join(dirname(here), `${name}.js`), execArgv: [] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { script: join(dirname(here), `${name}.ts`), execArgv: ['--import', tsx] };
}

/** Options of {@link runChild}. */
export interface RunChildOptions {
  /** Restart the timeout at every line the child writes (a child working through a list). */
  timeoutPerMessage?: boolean;
  /** Aborting SIGKILLs the child; the outcome then says `aborted`. */
  signal?: AbortSignal;
}

/**
 * Runs child script `name` with `args`; SIGKILLs it after `timeoutMs` (without a
 * line, with `timeoutPerMessage`). Never rejects for what the child does.
 */
export function runChild(name: string, args: readonly string[], timeoutMs: number, options: RunChildOptions = {}): Promise<ChildOutcome> {
  const { script, execArgv } = childCommand(name);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const messages: Record<string, unknown>[] = [];
    let out = '';
    let err = '';
    let timedOut = false;
    const expire = (): void => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(expire, timeoutMs);
    const abort = (): void => void child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted === true) abort();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        try {
          messages.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A partial line from a child killed mid-write carries nothing usable.
        }
        if (options.timeoutPerMessage === true && !timedOut) {
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err = (err + chunk).slice(-STDERR_TAIL);
    });
    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
    };
    child.once('error', (e) => {
      done();
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      done();
      resolve({ messages, exitCode, signal, timedOut, aborted: options.signal?.aborted === true, stderrTail: err.trim() });
    });
  });
}

/** One line for a report: how the child died, with liblmdb's last words if any. */
export function describeDeath(o: ChildOutcome): string {
  const how = o.timedOut ? 'timed out' : o.signal !== null ? `killed by ${o.signal}` : `exited with code ${o.exitCode}`;
  const last = o.stderrTail.split('\n').filter((l) => l.trim() !== '').at(-1);
  return last === undefined ? how : `${how}: ${last.slice(0, 300)}`;
}
