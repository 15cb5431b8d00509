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
import { MARKER } from '../bytes.js';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles, type LmdbDb } from '../lmdb-env.js';
import { badKey } from './key-shape.js';

const say = (m: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(m)}\n`);

/** Reads all of `main`; returns entries and value bytes read, or the first violation. */
function walkMain(db: LmdbDb): { entries: number; bytes: number } | string {
  let n = 0;
  let bytes = 0;
  for (const { key, value } of db.getRange({}) as Iterable<{ key: Buffer; value: Buffer }>) {
    const bad = badKey('main', key);
    if (bad !== undefined) return bad;
    // lmdb-js copies every value into its Buffer, so overflow pages are read too.
    bytes += value.length;
    n++;
  }
  const expected = db.getStats().entryCount;
  if (n !== expected) return `main: ${n} entries read, the database header says ${expected}`;
  return { entries: n, bytes };
}

/**
 * Reads all of `set`, every duplicate of every key. lmdb-js iterates and counts
 * past zero-length duplicates (the existence markers), so a marker is counted
 * with an exact lookup.
 */
function walkSet(db: LmdbDb): { entries: number; bytes: number } | string {
  let n = 0;
  let bytes = 0;
  for (const key of db.getKeys({})) {
    const bad = badKey('set', key);
    if (bad !== undefined) return bad;
    if (db.doesExist(key, MARKER)) n++;
    for (const value of db.getValues(key)) {
      if (value.length === 0) continue;
      bytes += value.length;
      n++;
    }
  }
  const expected = db.getStats().entryCount;
  if (n !== expected) return `set: ${n} entries read, the database header says ${expected}`;
  return { entries: n, bytes };
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
