/**
 * Salvage: copies whatever is still readable of a corrupt instance into a fresh
 * one. Every read of the source happens in a child (./copy-child.ts), so a bad
 * page ends only that child. The copy goes in key order with one committed put per
 * entry, so after a crash the destination's last key is the last readable key
 * before the bad pages. A probe child then looks up the first key at or after
 * that key's pointer + 2^k for k = 135 … 0 (largest first: lookups beyond the bad
 * pages succeed, the first one inside them crashes), and the copy resumes at the
 * smallest start that worked. So each bad region costs two children and the
 * skipped key range is at most about twice the unreadable one; the report lists
 * every skipped range.
 */
import { existsSync } from 'node:fs';
import { PTR_LEN } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import { DEFAULT_MAP_SIZE, closeHandles, openHandles } from '../lmdb-env.js';
import { openStore } from '../store.js';
import { describeDeath, runChild } from './run-child.js';
import { DEFAULT_VERIFY_TIMEOUT_MS, verifyInstance, type InstanceVerdict } from './verify-instance.js';

/** Keys that could not be read: everything after `after` (exclusive, null = from the first key) and before `before` (null = to the end). */
export interface LostRange {
  after: string | null;
  before: string | null;
  /** How the child that hit the range died. */
  reason: string;
}

/** One database's result. */
export interface DatabaseSalvage {
  /** Entries the source's database header claims (null when it could not be read). */
  expected: number | null;
  /** Entries in the salvaged copy. */
  copied: number;
  lost: LostRange[];
  /** Child processes used. */
  runs: number;
}

/** What {@link salvageInstance} did. */
export interface SalvageReport {
  source: string;
  dest: string;
  main: DatabaseSalvage;
  set: DatabaseSalvage;
  /** True when no range was lost and the counts match the source headers. */
  complete: boolean;
  /** Members whose name registration was lost (DESIGN §3 ghosts); `lmj-edge audit --repair` deletes them. */
  ghosts: number;
  /** {@link verifyInstance} of the copy. */
  verdict: InstanceVerdict;
}

/** Options of {@link salvageInstance}. */
export interface SalvageOptions {
  /** Per child process. */
  timeoutMs?: number;
  /** Most child processes per database before giving the rest up. */
  maxRuns?: number;
}

const DB_NAMES = ['main', 'set'] as const;
type DbName = (typeof DB_NAMES)[number];
const POINTER_SPACE = 1n << BigInt(PTR_LEN * 8);

/** The first `PTR_LEN` bytes of `key` plus 2^k, or null past the last pointer. */
export function skipPast(key: Buffer, k: number): Buffer | null {
  const ptr = Buffer.alloc(PTR_LEN);
  key.copy(ptr, 0, 0, PTR_LEN);
  const next = BigInt(`0x${ptr.toString('hex')}`) + (1n << BigInt(k));
  if (next >= POINTER_SPACE) return null;
  return Buffer.from(next.toString(16).padStart(PTR_LEN * 2, '0'), 'hex');
}

/** The last key of `db` in the (healthy) destination (null when empty or not created yet) and its entry count. */
async function progress(dest: string, db: DbName): Promise<{ last: Buffer | null; count: number }> {
  if (!existsSync(dest)) return { last: null, count: 0 };
  const h = openHandles(dest, 'safe', DEFAULT_MAP_SIZE, true);
  try {
    let last: Buffer | null = null;
    for (const key of h[db].getKeys({ reverse: true, limit: 1 })) last = Buffer.from(key);
    return { last, count: h[db].getStats().entryCount };
  } finally {
    await closeHandles(h);
  }
}

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));

/**
 * After a crash past `anchor`: the first readable key beyond the bad pages (probe
 * child, see the file comment), or null when nothing beyond is readable.
 */
async function probeResume(source: string, db: DbName, anchor: Buffer, timeoutMs: number): Promise<Buffer | null> {
  const starts: string[] = [];
  for (let k = PTR_LEN * 8 - 1; k >= 0; k--) {
    const s = skipPast(anchor, k);
    if (s !== null && starts.at(-1) !== s.toString('hex')) starts.push(s.toString('hex'));
  }
  if (starts.length === 0) return null;
  const o = await runChild('copy-child', [source, 'probe', db, starts.join(',')], timeoutMs);
  const first = o.messages.filter((m) => m.type === 'probe').at(-1)?.first;
  return typeof first === 'string' ? Buffer.from(first, 'hex') : null;
}

async function salvageDb(source: string, dest: string, db: DbName, timeoutMs: number, maxRuns: number): Promise<Omit<DatabaseSalvage, 'copied'>> {
  const out: Omit<DatabaseSalvage, 'copied'> = { expected: null, lost: [], runs: 0 };
  let start: Buffer = Buffer.alloc(0);
  let last: Buffer | null = null;
  let gap: { after: string | null; reason: string } | undefined;
  // Everything from the open gap (or after the last copied key) to the end is lost.
  const giveUp = (reason: string): Omit<DatabaseSalvage, 'copied'> => {
    out.lost.push({ after: gap?.after ?? hex(last), before: null, reason: gap?.reason ?? reason });
    return out;
  };
  while (out.runs < maxRuns) {
    out.runs++;
    const o = await runChild('copy-child', [source, dest, db, start.toString('hex')], timeoutMs);
    const opened = o.messages.find((m) => m.type === 'opened');
    if (opened !== undefined && out.expected === null) out.expected = Number(opened.expected);
    // The database itself cannot be opened: nothing of it is reachable.
    if (opened === undefined) return giveUp(describeDeath(o));
    const { last: now, count } = await progress(dest, db);
    const progressed = now !== null && (last === null || Buffer.compare(now, last) > 0);
    if (progressed || o.exitCode === 0) {
      if (gap !== undefined) out.lost.push({ after: gap.after, before: hex(start), reason: gap.reason });
      gap = undefined;
      if (progressed) last = now;
    }
    const done = o.exitCode === 0 && o.messages.some((m) => m.type === 'done');
    // A garbage page can also end an iteration early without any error: done, but
    // short of the header's count; a probe tells whether readable keys follow.
    if (done && (out.expected === null || count >= out.expected)) return out;
    const damaged = o.messages.find((m) => m.type === 'damaged');
    const reason = done
      ? `the walk ended after ${count} of ${out.expected} entries`
      : damaged !== undefined
        ? String(damaged.reason)
        : describeDeath(o);
    gap ??= { after: hex(last), reason };
    const anchor = last !== null && Buffer.compare(last, start) > 0 ? last : start;
    out.runs++;
    const resume = await probeResume(source, db, anchor, timeoutMs);
    // Done and nothing readable follows: the shortfall lies in the gaps already reported,
    // or is `set`'s header counting deleted entities (see walk-child.ts) — unless the
    // source's last key, found by a seek from the root, lies beyond what was copied.
    if (resume === null && done) {
      out.runs++;
      const end = await runChild('copy-child', [source, 'last', db], timeoutMs);
      const key = end.messages.find((m) => m.type === 'last')?.key;
      if (end.exitCode === 0 && (key ?? null) === hex(last)) return out;
      return giveUp(end.exitCode === 0 ? `${db}: the last key is ${String(key)}, beyond the last readable one` : describeDeath(end));
    }
    if (resume === null || Buffer.compare(resume, anchor) <= 0) return giveUp(reason);
    start = resume;
  }
  return giveUp(`gave up after ${maxRuns} child processes`);
}

/**
 * Copies what is readable of the instance at `source` into a new instance at
 * `dest` (which must not exist), then verifies the copy. The source is only read.
 */
export async function salvageInstance(source: string, dest: string, options: SalvageOptions = {}): Promise<SalvageReport> {
  if (existsSync(dest)) throw new LmjError('BAD_REQUEST', `salvage destination already exists: ${dest}`, { details: { dest } });
  const timeoutMs = options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const maxRuns = options.maxRuns ?? 200;
  const parts: Partial<Record<DbName, Omit<DatabaseSalvage, 'copied'>>> = {};
  for (const db of DB_NAMES) parts[db] = await salvageDb(source, dest, db, timeoutMs, maxRuns);
  // Even when nothing was readable the result is a valid, empty instance.
  const store = openStore(dest, {});
  let ghosts: number;
  try {
    ghosts = store.read((txn) => txn.audit()).length;
  } finally {
    await store.close();
  }
  const h = openHandles(dest, 'safe', DEFAULT_MAP_SIZE, true);
  const counts = { main: h.main.getStats().entryCount, set: h.set.getStats().entryCount };
  await closeHandles(h);
  const main: DatabaseSalvage = { ...parts.main!, copied: counts.main };
  const set: DatabaseSalvage = { ...parts.set!, copied: counts.set };
  // `set`'s header is an upper bound (deleted entities stay counted, walk-child.ts): fewer is complete.
  const complete = main.lost.length === 0 && main.expected === main.copied && set.lost.length === 0 && set.expected !== null && set.copied <= set.expected;
  return { source, dest, main, set, complete, ghosts, verdict: await verifyInstance(dest, { timeoutMs }) };
}
