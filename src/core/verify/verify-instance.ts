/**
 * Verifies one LMJCore instance in a child process (./walk-child.ts): a full walk
 * of `main` and `set`, every page touched. A crash, signal or abort of the child
 * means corrupt; this process stays up whatever the pages hold.
 *
 * For a device pool: `await verifyInstance(dir)` before opening an instance that
 * may be damaged (after an unclean stop, after an I/O error), open it only on
 * `ok`, quarantine it on `corrupt`, retry later on `unreadable`.
 */
import { describeDeath, runChild, type ChildOutcome } from './run-child.js';

/** Default time allowed for one walk; a Pi reads a few hundred MB in that. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 120_000;

/** The result of {@link verifyInstance}. */
export type InstanceVerdict =
  /** Every entry of both databases was read and well-formed. */
  | { status: 'ok'; main: number; set: number; bytes: number }
  /**
   * The data is damaged: the walk crashed (`signal`/`exitCode` of the child), or
   * liblmdb reported it, or keys or counts are inconsistent (`reason`).
   */
  | { status: 'corrupt'; reason: string; signal: NodeJS.Signals | null; exitCode: number | null }
  /** Nothing could be concluded: the files are missing or unreadable, or the walk timed out. */
  | { status: 'unreadable'; reason: string; timedOut: boolean };

/** Options of {@link verifyInstance} and {@link verifyInstances}. */
export interface VerifyOptions {
  /** Per instance. */
  timeoutMs?: number;
  /** Aborting stops the walk; the instances not judged yet get no verdict. */
  signal?: AbortSignal;
  /** Each verdict as soon as it is known (verifyInstances). */
  onVerdict?(dir: string, verdict: InstanceVerdict): void;
}

/** The verdict the walk child gave for `dir`, if it finished it. */
function reported(messages: readonly Record<string, unknown>[], dir: string): InstanceVerdict | undefined {
  const last = messages.filter((m) => m.dir === dir).at(-1);
  if (last === undefined) return undefined;
  const reason = String(last.reason ?? '');
  if (last.type === 'ok') return { status: 'ok', main: Number(last.main), set: Number(last.set), bytes: Number(last.bytes) };
  if (last.type === 'unreadable') return { status: 'unreadable', reason, timedOut: false };
  if (last.type === 'corrupt') return { status: 'corrupt', reason, signal: null, exitCode: 0 };
  return undefined;
}

/** The verdict for the instance a child was reading when it died. */
function death(o: ChildOutcome, dir: string): InstanceVerdict {
  if (o.timedOut) return { status: 'unreadable', reason: describeDeath(o), timedOut: true };
  const opened = o.messages.some((m) => m.type === 'opened' && m.dir === dir);
  return {
    status: 'corrupt',
    reason: `${opened ? 'reading' : 'opening'} the instance ${describeDeath(o)}`,
    signal: o.signal,
    exitCode: o.exitCode,
  };
}

/**
 * Walks the instances at `dirs` (instance directories), in order, in one child
 * process; when a bad page ends the child, that instance is corrupt and a new child
 * goes on with the next one. So n healthy instances cost one process start, not n.
 * Never throws for what the data holds.
 */
export async function verifyInstances(dirs: readonly string[], options: VerifyOptions = {}): Promise<Map<string, InstanceVerdict>> {
  const verdicts = new Map<string, InstanceVerdict>();
  const judge = (dir: string, v: InstanceVerdict): void => {
    verdicts.set(dir, v);
    options.onVerdict?.(dir, v);
  };
  let rest = [...new Set(dirs)];
  while (rest.length > 0 && options.signal?.aborted !== true) {
    const o = await runChild('walk-child', rest, options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS, {
      timeoutPerMessage: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (o.aborted) break;
    let next = rest.length;
    for (let i = 0; i < rest.length; i++) {
      const dir = rest[i]!;
      const v = reported(o.messages, dir);
      if (v !== undefined) {
        judge(dir, v);
        continue;
      }
      // The first instance without a verdict is the one the child died on.
      judge(dir, death(o, dir));
      next = i + 1;
      break;
    }
    rest = rest.slice(next);
  }
  return verdicts;
}

/** Walks the instance at `dir` (an instance directory) in a child process. Never throws for what the data holds. */
export async function verifyInstance(dir: string, options: VerifyOptions = {}): Promise<InstanceVerdict> {
  const v = (await verifyInstances([dir], options)).get(dir);
  if (v === undefined) return { status: 'unreadable', reason: 'verification aborted', timedOut: false };
  return v;
}
