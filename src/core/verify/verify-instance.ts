/**
 * Verifies one LMJCore instance in a child process (./walk-child.ts): a full walk
 * of `main` and `set`, every page touched. A crash, signal or abort of the child
 * means corrupt; this process stays up whatever the pages hold.
 *
 * For a device pool: `await verifyInstance(dir)` before opening an instance that
 * may be damaged (after an unclean stop, after an I/O error), open it only on
 * `ok`, quarantine it on `corrupt`, retry later on `unreadable`.
 */
import { describeDeath, runChild } from './run-child.js';

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

/** Options of {@link verifyInstance}. */
export interface VerifyOptions {
  timeoutMs?: number;
}

/** Walks the instance at `dir` (an instance directory) in a child process. Never throws for what the data holds. */
export async function verifyInstance(dir: string, options: VerifyOptions = {}): Promise<InstanceVerdict> {
  const o = await runChild('walk-child', [dir], options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS);
  if (o.timedOut) return { status: 'unreadable', reason: describeDeath(o), timedOut: true };
  const last = o.messages.at(-1);
  if (o.exitCode === 0 && last !== undefined) {
    const reason = String(last.reason ?? '');
    if (last.type === 'ok') return { status: 'ok', main: Number(last.main), set: Number(last.set), bytes: Number(last.bytes) };
    if (last.type === 'unreadable') return { status: 'unreadable', reason, timedOut: false };
    if (last.type === 'corrupt') return { status: 'corrupt', reason, signal: null, exitCode: 0 };
  }
  const opened = o.messages.some((m) => m.type === 'opened');
  return {
    status: 'corrupt',
    reason: `${opened ? 'reading' : 'opening'} the instance ${describeDeath(o)}`,
    signal: o.signal,
    exitCode: o.exitCode,
  };
}
