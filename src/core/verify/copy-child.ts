/**
 * Child process of {@link salvageInstance}: copies one database of a (possibly
 * corrupt) instance, in key order from a start key, into a destination instance,
 * one committed put per entry, so everything copied before a crash is kept.
 * Prints `{"type":"opened","expected":N}` once both are open and
 * `{"type":"done"}` at the end (after syncing the destination to disk). A bad
 * page of the source ends this process, or shows as a malformed or out-of-order
 * key (`{"type":"damaged"}`, exit 1); the parent resumes past it.
 *
 * With `probe` instead of a destination it looks up, for each of the given start
 * keys in the order given, the first key at or after it, printing
 * `{"type":"probe","at","first"}` per lookup: the parent passes them largest
 * first, so the last line before a crash is the smallest start past the bad pages.
 *
 * With `last` it prints `{"type":"last","key"}`: the database's last key found by a
 * seek from the root (hex, or null when empty).
 *
 * Usage: copy-child <source dir> <dest dir> <main|set> <start key hex or "">
 *        copy-child <source dir> probe <main|set> <key hex>,<key hex>,…
 *        copy-child <source dir> last <main|set>
 */
import { MARKER } from '../bytes.js';
import { closeHandles, DEFAULT_MAP_SIZE, openHandles, type LmdbDb } from '../lmdb-env.js';
import { badKey } from './key-shape.js';

const say = (m: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(m)}\n`);

/**
 * Stops the copy at the first key a damaged page can produce: a malformed one, or
 * one out of order (a garbage page can read as a leaf of random keys).
 */
class Damaged extends Error {}

function checkKey(db: 'main' | 'set', key: Buffer, prev: Buffer | undefined): void {
  const bad = badKey(db, key);
  if (bad !== undefined) throw new Damaged(bad);
  if (prev !== undefined && Buffer.compare(key, prev) <= 0) throw new Damaged(`${db}: key ${key.toString('hex')} out of order`);
}

function copyMain(from: LmdbDb, to: LmdbDb, start: Buffer): void {
  let prev: Buffer | undefined;
  for (const { key, value } of from.getRange({ start }) as Iterable<{ key: Buffer; value: Buffer }>) {
    checkKey('main', key, prev);
    to.putSync(key, value);
    prev = key;
  }
}

/** lmdb-js iterates past zero-length duplicates, so each key's existence marker is copied by lookup. */
function copySet(from: LmdbDb, to: LmdbDb, start: Buffer): void {
  let prev: Buffer | undefined;
  for (const key of from.getKeys({ start })) {
    checkKey('set', key, prev);
    prev = key;
    if (from.doesExist(key, MARKER)) to.putSync(key, MARKER);
    for (const value of from.getValues(key)) if (value.length > 0) to.putSync(key, value);
  }
}

function probe(from: LmdbDb, starts: string): void {
  for (const at of starts.split(',')) {
    let first: string | null = null;
    for (const key of from.getKeys({ start: Buffer.from(at, 'hex'), limit: 1 })) first = key.toString('hex');
    say({ type: 'probe', at, first });
  }
}

async function main(source: string, dest: string, db: string, startHex: string): Promise<void> {
  if (db !== 'main' && db !== 'set') throw new Error(`unknown database ${db}`);
  const src = openHandles(source, 'safe', DEFAULT_MAP_SIZE, true);
  if (dest === 'last') {
    let key: string | null = null;
    for (const k of src[db].getKeys({ reverse: true, limit: 1 })) key = k.toString('hex');
    say({ type: 'last', key });
    await closeHandles(src);
    say({ type: 'done' });
    return;
  }
  if (dest === 'probe') {
    probe(src[db], startHex);
    await closeHandles(src);
    say({ type: 'done' });
    return;
  }
  // Same map size as the source so its data fits; `fast`: synced once at the end.
  const dst = openHandles(dest, 'fast', Math.max(src.mapSize, DEFAULT_MAP_SIZE), false);
  say({ type: 'opened', expected: src[db].getStats().entryCount });
  const start = Buffer.from(startHex, 'hex');
  if (db === 'main') copyMain(src.main, dst.main, start);
  else copySet(src.set, dst.set, start);
  await new Promise<void>((resolve, reject) => dst.root.sync((err) => (err === undefined || err === null ? resolve() : reject(err))));
  await closeHandles(dst);
  await closeHandles(src);
  say({ type: 'done' });
}

main(process.argv[2] ?? '', process.argv[3] ?? '', process.argv[4] ?? '', process.argv[5] ?? '').catch((err: unknown) => {
  say({ type: err instanceof Damaged ? 'damaged' : 'error', reason: (err as Error).message });
  process.exitCode = 1;
});
