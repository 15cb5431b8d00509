/**
 * What a failing SD card does to an instance: data pages overwritten with garbage
 * while LMDB's two meta pages (0 and 1) stay intact, so the environment still
 * opens and the damage is found only when a bad page is touched.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/core/index.js';

const P_LEAF = 0x02;

/** The page size recorded in meta page 0 (`mm_dbs[FREE_DBI].md_pad`, after the page header and magic/version/address/mapsize). */
export function pageSizeOf(dir: string): number {
  return readFileSync(join(dir, 'data.mdb')).readUInt32LE(16 + 4 + 4 + 8 + 8);
}

/** Deterministic garbage (xorshift32), so a failing run can be repeated. */
function garbage(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function overwrite(dir: string, pages: readonly number[], seed: number): void {
  const psize = pageSizeOf(dir);
  const fd = openSync(join(dir, 'data.mdb'), 'r+');
  try {
    for (const pg of pages) writeSync(fd, garbage(psize, seed + pg), 0, psize, pg * psize);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites every page but the two meta pages; returns how many were overwritten. */
export function overwriteAllDataPages(dir: string, seed = 1): number {
  const psize = pageSizeOf(dir);
  const count = readFileSync(join(dir, 'data.mdb')).length / psize;
  const pages = Array.from({ length: count - 2 }, (_, i) => i + 2);
  overwrite(dir, pages, seed);
  return pages.length;
}

/**
 * Overwrites the middle leaf page of database `db`: `main` leaves hold keys longer
 * than a pointer, `set` leaves 17-byte pointer keys (first node's key size). Returns the page number.
 */
export function overwriteMiddleLeaf(dir: string, db: 'main' | 'set', seed = 1): number {
  const file = readFileSync(join(dir, 'data.mdb'));
  const psize = pageSizeOf(dir);
  const leaves: number[] = [];
  for (let pg = 2; pg < file.length / psize; pg++) {
    const base = pg * psize;
    if ((file.readUInt16LE(base + 10) & P_LEAF) === 0) continue;
    // First node: offset from mp_ptrs[0] (after the 16-byte header); its key size at +6.
    const node = base + file.readUInt16LE(base + 16);
    const ksize = file.readUInt16LE(node + 6);
    if (db === 'set' ? ksize === 17 : ksize > 17) leaves.push(pg);
  }
  if (leaves.length < 3) throw new Error(`only ${leaves.length} ${db} leaves; write more data`);
  const pg = leaves[Math.floor(leaves.length / 2)]!;
  overwrite(dir, [pg], seed);
  return pg;
}

/** Writes `objects` objects with two members each: ~130 pages for 3000. Returns every main entry, hex → hex. */
export async function writeInstance(dir: string, objects: number): Promise<Map<string, string>> {
  const store = openStore(dir);
  const entries = new Map<string, string>();
  try {
    store.write((t) => {
      for (let i = 0; i < objects; i++) {
        const p = t.objCreate();
        const temp = Buffer.from(String(i));
        const hum = Buffer.alloc(20, i & 0xff);
        t.memberPut(p, 'temp', temp);
        t.memberPut(p, 'hum', hum);
        entries.set(Buffer.concat([p, Buffer.from('temp')]).toString('hex'), temp.toString('hex'));
        entries.set(Buffer.concat([p, Buffer.from('hum')]).toString('hex'), hum.toString('hex'));
      }
    });
  } finally {
    await store.close();
  }
  return entries;
}
