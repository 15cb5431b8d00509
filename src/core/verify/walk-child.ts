/**
 * Child process of {@link verifyInstances}: for each instance in turn, opens it
 * read-only and reads every key and value of `main` and every key and duplicate of
 * `set`, touching every page; checks the LMJCore key shapes and the entry counts on
 * the way. Prints JSON lines per instance, each with its `dir`: `{"type":"begin"}`,
 * `{"type":"opened"}`, then `{"type":"ok",...}` or `{"type":"corrupt","reason"}` /
 * `{"type":"unreadable","reason"}`. A bad page may instead abort this process:
 * that is what the parent is for (it resumes with the instances after that one).
 *
 * Usage: walk-child <instance dir> [<instance dir> …]
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import * as lmdb from 'lmdb';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles, type LmdbDb } from '../lmdb-env.js';
import { badKey } from './key-shape.js';

const say = (m: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(m)}\n`);

/** The last key of `db` found by a reverse seek from the root (not by walking the leaves). */
function lastKeyBySeek(db: LmdbDb): Buffer | undefined {
  for (const key of db.getKeys({ reverse: true, limit: 1 })) return Buffer.from(key);
  return undefined;
}

/**
 * A forward walk that ends at a damaged leaf ends there without any error (seen with
 * an overwritten `set` leaf: 1,488 of 3,000 keys, then nothing). The rightmost leaf,
 * reached by a seek from the root, must hold the key the walk ended on.
 */
function endProblem(db: 'main' | 'set', walked: Buffer | undefined, seek: Buffer | undefined): string | undefined {
  if (walked === undefined && seek === undefined) return undefined;
  if (walked !== undefined && seek !== undefined && walked.equals(seek)) return undefined;
  const hex = (b: Buffer | undefined): string => (b === undefined ? 'none' : b.toString('hex'));
  return `${db}: the walk ended at key ${hex(walked)} but the last key is ${hex(seek)} (the pages between are unreadable)`;
}

/** The shape and order of each key: a garbage page can read as a leaf of random keys. */
function keyProblem(db: 'main' | 'set', key: Buffer, prev: Buffer | undefined): string | undefined {
  const bad = badKey(db, key);
  if (bad !== undefined) return bad;
  if (prev !== undefined && Buffer.compare(key, prev) <= 0) return `${db}: key ${key.toString('hex')} out of order`;
  return undefined;
}

/** Reads all of `main`; returns entries and value bytes read, or the first violation. */
function walkMain(db: LmdbDb): { entries: number; bytes: number } | string {
  let n = 0;
  let bytes = 0;
  let prev: Buffer | undefined;
  for (const { key, value } of db.getRange({}) as Iterable<{ key: Buffer; value: Buffer }>) {
    const bad = keyProblem('main', key, prev);
    if (bad !== undefined) return bad;
    prev = Buffer.from(key);
    // lmdb-js copies every value into its Buffer, so overflow pages are read too.
    bytes += value.length;
    n++;
  }
  const end = endProblem('main', prev, lastKeyBySeek(db));
  if (end !== undefined) return end;
  // A plain database's header counts exactly what it holds.
  const expected = db.getStats().entryCount;
  if (n !== expected) return `main: ${n} entries read, the database header says ${expected}`;
  return { entries: n, bytes };
}

/**
 * Reads all of `set`, every duplicate of every key, and counts one existence marker
 * per key: every LMJCore entity starts with one, and that is what the header counts
 * (lmdb-js iterates past zero-length duplicates, and its lookup of a zero-length
 * duplicate answers true for every key, so it tells nothing).
 *
 * `set`'s header (`md_entries`) is only an upper bound: LMDB counts the zero-length
 * marker when it is put, drops it physically when the key gets its first real value
 * (`mdb_dump` no longer shows it) but keeps counting it, and deleting the key later
 * subtracts only the duplicates it really holds. So every deleted entity that ever had
 * a member or element (retention's expired readings) and every marker put back after
 * the last name was removed leaves one count behind for good; only a copy rewritten
 * entry by entry (compaction) resets it. Fewer entries than the header is therefore not
 * a finding; more is, and a walk that stopped early is caught by {@link endProblem}.
 */
function walkSet(db: LmdbDb): { entries: number; bytes: number } | string {
  let n = 0;
  let bytes = 0;
  let prev: Buffer | undefined;
  for (const key of db.getKeys({})) {
    const bad = keyProblem('set', key, prev);
    if (bad !== undefined) return bad;
    prev = Buffer.from(key);
    n++;
    for (const value of db.getValues(key)) {
      if (value.length === 0) continue;
      bytes += value.length;
      n++;
    }
  }
  const end = endProblem('set', prev, lastKeyBySeek(db));
  if (end !== undefined) return end;
  const header = db.getStats().entryCount;
  if (n > header) return `set: ${n} entries read, more than the ${header} the database header says`;
  return { entries: n, bytes };
}

/**
 * True when the environment never committed more than its creation: no named database and
 * no transaction at all (lastTxnId 0), or only an empty `main` from the first one (the
 * engine creates `main`, then `set`, one transaction each). Anything else without both
 * databases is damage.
 */
function creationCutOff(dir: string): boolean {
  let root: LmdbDb | undefined;
  try {
    root = lmdb.open(dir, { noSubdir: false, readOnly: true, maxDbs: 4, encoding: 'binary', keyEncoding: 'binary', compression: false, cache: false, useVersions: false, overlappingSync: false, safeRestore: false, remapChunks: false } as never) as unknown as LmdbDb;
    const txn = (root as unknown as { env: { info(): { lastTxnId: number } } }).env.info().lastTxnId;
    const names = [...root.getKeys({})].map((k) => Buffer.from(k).toString('latin1'));
    if (names.length === 0) return txn === 0;
    if (names.length !== 1 || names[0] !== 'main' || txn !== 1) return false;
    const main = (root as unknown as { openDB(n: string, o: object): LmdbDb | undefined }).openDB('main', { keyEncoding: 'binary', encoding: 'binary', compression: false, cache: false, useVersions: false, create: false });
    return main !== undefined && main.getStats().entryCount === 0;
  } catch {
    return false;
  } finally {
    void root?.close().catch(() => undefined);
  }
}

async function walk(dir: string): Promise<void> {
  const tell = (m: Record<string, unknown>): void => say({ ...m, dir });
  tell({ type: 'begin' });
  try {
    accessSync(join(dir, 'data.mdb'), constants.R_OK);
  } catch (err) {
    tell({ type: 'unreadable', reason: (err as Error).message });
    return;
  }
  let h;
  try {
    h = openHandles(dir, 'safe', DEFAULT_MAP_SIZE, true);
  } catch (err) {
    // A kill between creating data.mdb and committing the named databases leaves an empty
    // instance, not a damaged one: the next open creates them.
    if (creationCutOff(dir)) return tell({ type: 'ok', main: 0, set: 0, bytes: 0 });
    // data.mdb is there and readable, so failing to find the databases means its pages are bad.
    tell({ type: 'corrupt', reason: (err as Error).message });
    return;
  }
  tell({ type: 'opened' });
  try {
    const main = walkMain(h.main);
    if (typeof main === 'string') return tell({ type: 'corrupt', reason: main });
    const set = walkSet(h.set);
    if (typeof set === 'string') return tell({ type: 'corrupt', reason: set });
    tell({ type: 'ok', main: main.entries, set: set.entries, bytes: main.bytes + set.bytes });
  } catch (err) {
    tell({ type: 'corrupt', reason: (err as Error).message });
  } finally {
    // Closed before the next one is opened: one map at a time. A failed close says nothing about the pages.
    await closeHandles(h).catch(() => undefined);
  }
}

async function main(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) await walk(dir);
}

void main(process.argv.slice(2));
