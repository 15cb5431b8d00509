/**
 * Member writes through the addon (native/src/write.cc): the puts of one object — its
 * existence marker, its names in `set`, its values in `main` — packed into one buffer
 * and made in ONE call inside the write transaction lmdb-js has open, instead of one
 * lmdb-js put (instruction encoding, a key copy, a native call) per key. The addon puts
 * through the MDB_txn lmdb-js itself holds, with the same database, key, value, flags
 * and order as the lmdb-js puts it replaces, so the bytes on disk are the same.
 *
 * Used only when the addon's liblmdb is the one lmdb-js runs (same version string, as
 * the native reading scan requires) and lmdb-js has a write transaction open on the
 * environment; otherwise (portable codec, another lmdb-js) the engine puts through
 * lmdb-js as before.
 */
import * as lmdb from 'lmdb';
import { PTR_LEN, type WriteKernel } from '../codec/types.js';
import { fromStatus } from '../errors.js';
import { lmdbFailure } from './lmdb-errors.js';
import type { LmdbDb, LmdbHandles } from './lmdb-env.js';

/** Header of the packed ops: pointer, flags, entry count (native/src/write.cc). */
const HEADER = PTR_LEN + 1 + 4;
/** Per entry: u16 name length, u32 value length. */
const ENTRY_HEAD = 6;
/** Value length meaning "register the name only". */
const NO_VALUE = 0xffffffff;
/** The lowest status of src/errors.ts; LMDB's own codes lie above it (-30799..-30780). */
const STATUS_FLOOR = -32000;
/** liblmdb's return codes lie between these (MDB_KEYEXIST -30799 … MDB_PROBLEM -30779). */
const LMDB_CODES_BELOW = -30800;
const LMDB_CODES_ABOVE = -30700;

interface NativeParts {
  db?: { dbi?: unknown };
  env?: { address?: unknown; writeTxn?: unknown };
}

const lmdbJsVersion = (lmdb as unknown as { version?: { versionString?: string } }).version?.versionString;

function dbiOf(db: LmdbDb): number | undefined {
  const dbi = (db as unknown as NativeParts).db?.dbi;
  return typeof dbi === 'number' ? dbi : undefined;
}

/** Packs and runs the native member writes of one environment (reusing one buffer). */
export class NativeWriter {
  private ops = Buffer.allocUnsafe(4096);
  private len = 0;
  private count = 0;

  private constructor(
    private readonly kernel: WriteKernel,
    private readonly env: { address: number; writeTxn?: unknown },
    private readonly setDbi: number,
    private readonly mainDbi: number,
  ) {}

  /** The writer for these handles, or null when the native path cannot be used on them. */
  static of(kernel: WriteKernel | undefined, h: LmdbHandles): NativeWriter | null {
    if (kernel === undefined || kernel.lmdbVersion !== lmdbJsVersion) return null;
    const env = (h.main as unknown as NativeParts).env;
    const setDbi = dbiOf(h.set);
    const mainDbi = dbiOf(h.main);
    if (env === undefined || typeof env.address !== 'number' || env.address === 0 || setDbi === undefined || mainDbi === undefined) return null;
    return new NativeWriter(kernel, env as { address: number; writeTxn?: unknown }, setDbi, mainDbi);
  }

  /** True while lmdb-js has a write transaction open on the environment. */
  get usable(): boolean {
    return this.env.writeTxn !== null && this.env.writeTxn !== undefined;
  }

  /**
   * Puts object `ptr`'s members (`order`: the indexes in write order, null = as given),
   * after the existence marker when `marker`; returns how many names were new.
   */
  object(ptr: Buffer, marker: boolean, names: readonly Buffer[], values: readonly Buffer[], order: readonly number[] | null): number {
    this.begin(ptr, marker);
    for (let k = 0; k < names.length; k++) {
      const i = order === null ? k : order[k]!;
      this.add(names[i]!, values[i]!);
    }
    return this.run();
  }

  /** Puts one member of `ptr`: its name in `set`, its value in `main`. */
  member(ptr: Buffer, name: Buffer, value: Buffer): void {
    this.begin(ptr, false);
    this.add(name, value);
    this.run();
  }

  /** Registers one name (or set element) of `ptr`; true when it was not there yet. */
  name(ptr: Buffer, name: Buffer): boolean {
    this.begin(ptr, false);
    this.add(name, null);
    return this.run() === 1;
  }

  /** Starts the ops of object `ptr`; `marker`: put the existence marker first. */
  begin(ptr: Buffer, marker: boolean): void {
    this.ops.set(ptr, 0);
    this.ops[PTR_LEN] = marker ? 1 : 0;
    this.len = HEADER;
    this.count = 0;
  }

  /** Adds a name (registered in `set`) and its value (put in `main`; null: name only). */
  add(name: Buffer, value: Buffer | null): void {
    const need = this.len + ENTRY_HEAD + name.length + (value === null ? 0 : value.length);
    if (need > this.ops.length) this.grow(need);
    const o = this.ops;
    let at = this.len;
    o.writeUInt16LE(name.length, at);
    o.writeUInt32LE(value === null ? NO_VALUE : value.length, at + 2);
    at += ENTRY_HEAD;
    o.set(name, at);
    at += name.length;
    if (value !== null) {
      o.set(value, at);
      at += value.length;
    }
    this.len = at;
    this.count++;
  }

  /** Runs the packed ops; returns how many names were newly registered. Throws the failure. */
  run(): number {
    this.ops.writeUInt32LE(this.count, PTR_LEN + 1);
    const r = this.kernel.writeMembers(this.env.address, this.setDbi, this.mainDbi, this.ops, this.len);
    if (r >= 0) return r;
    if (r <= STATUS_FLOOR) throw fromStatus(r, 'native member write failed');
    // LMDB's own codes are negative; a system errno comes back negated.
    const rc = r > LMDB_CODES_BELOW && r < LMDB_CODES_ABOVE ? r : -r;
    throw lmdbFailure(rc, this.kernel.lmdbError(rc));
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.ops.length * 2));
    this.ops.copy(next, 0, 0, this.len);
    this.ops = next;
  }
}
