/**
 * Power-cut harness: builds the LD_PRELOAD shim (test/helpers/powercut/shim.c), gives the
 * environment that puts a process under it, and — after that process was SIGKILLed —
 * reads the shim's undo log and rolls every file under the root back to what a power
 * cut would have left on disk. docs/power-cut.md describes the model and its limits.
 * No vitest import: scripts and benches may use it too.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHIM_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'powercut', 'shim.c');
const MAGIC = 0x54554350;
const HEADER = 64;
/** Page size of the torn-write model (the page cache writes back whole pages). */
const PAGE = 4096;

/** Record types, as in shim.c. */
const Rec = { Write: 1, Trunc: 2, Sync: 3, DSync: 4, Mmap: 5, SyncAll: 6 } as const;
type RecType = (typeof Rec)[keyof typeof Rec];

/** One undo-log record. */
export interface UndoRecord {
  type: RecType;
  seq: bigint;
  /** `dev:ino` of the file. */
  file: string;
  /** The file's path when the record was written. */
  path: string;
  a: number;
  b: number;
  c: number;
  /** Old bytes (write: overwritten range; truncate: the tail cut off). */
  data: Buffer;
}

/** What {@link powerCut} did. */
export interface CutReport {
  records: number;
  /** A torn last record (the process died inside a log append; its write never ran). */
  tornTail: boolean;
  /** Files with writes undone. */
  files: number;
  /** Their paths, and how many writes of each were undone. */
  undoneIn: Record<string, number>;
  /** Writes and truncations undone. */
  undone: number;
  /** Torn mode: dirty pages whose newest content was kept. */
  pagesKept: number;
  /** Torn mode: dirty pages rolled back. */
  pagesDropped: number;
  /** Files written through a shared writable mapping (not modelled: see the docs). */
  sharedMappings: string[];
  /** Files with unsynced writes that no longer exist under the root (unlinked). */
  gone: number;
}

/** How the cut treats writes no sync covered. */
export interface CutOptions {
  /**
   * `drop` (default): every unsynced write is lost, so each file is at its last synced
   * state. `torn`: each dirty page independently keeps its newest content with
   * probability `keep` or is rolled back, as a page cache flushed in arbitrary order.
   */
  mode?: 'drop' | 'torn';
  /** Seed of the torn choice. */
  seed?: number;
  /** Torn mode: probability a dirty page survives (default 0.5). */
  keep?: number;
  /** Torn mode: decides instead of the seeded draw (a chosen worst case, e.g. meta pages kept, tree pages lost). */
  keepPage?: (path: string, page: number) => boolean;
}

/** Compiles the shim once per source version into a shared cache dir; returns the .so path. */
export function buildShim(): string {
  const source = readFileSync(SHIM_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'lmj-powercut-shim');
  const out = join(dir, `shim-${hash}.so`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', tmp, SHIM_SOURCE, '-ldl', '-lpthread'], { stdio: 'pipe' });
  renameSync(tmp, out); // atomic: parallel test files never load a half-written library
  return out;
}

/**
 * Environment that runs a process under the shim, logging writes under `root` to `log`.
 * With `arm`, {@link armCut} on that path makes the process cut itself mid-work.
 */
export function shimEnv(root: string, log: string, arm?: string): Record<string, string> {
  return {
    LD_PRELOAD: buildShim(),
    POWERCUT_ROOT: resolve(root),
    POWERCUT_LOG: resolve(log),
    ...(arm === undefined ? {} : { POWERCUT_ARM: resolve(arm) }),
    // libuv may route fs calls through io_uring, which no libc interposer sees.
    UV_USE_IO_URING: '0',
  };
}

/**
 * Arms the cut of a process started with `shimEnv(…, arm)`: it SIGKILLs itself right
 * before its (k+1)-th file event under the root from now on (write, O_DSYNC write, sync).
 */
export function armCut(arm: string, k: number): void {
  writeFileSync(`${arm}.tmp`, String(k));
  renameSync(`${arm}.tmp`, arm); // the shim never reads a half-written number
}

/** Parses the undo log; a torn last record is reported, not returned. */
export function readUndoLog(log: string): { records: UndoRecord[]; tornTail: boolean } {
  const buf = existsSync(log) ? readFileSync(log) : Buffer.alloc(0);
  const records: UndoRecord[] = [];
  let off = 0;
  while (off + HEADER <= buf.length) {
    if (buf.readUInt32LE(off) !== MAGIC) throw new Error(`undo log ${log}: bad magic at byte ${off}`);
    const pathLen = buf.readUInt32LE(off + 56);
    const dataLen = buf.readUInt32LE(off + 60);
    const end = off + HEADER + pathLen + dataLen;
    if (end > buf.length) break;
    records.push({
      type: buf.readUInt32LE(off + 4) as RecType,
      seq: buf.readBigUInt64LE(off + 8),
      file: `${buf.readBigUInt64LE(off + 16)}:${buf.readBigUInt64LE(off + 24)}`,
      a: Number(buf.readBigUInt64LE(off + 32)),
      b: Number(buf.readBigUInt64LE(off + 40)),
      c: Number(buf.readBigUInt64LE(off + 48)),
      path: buf.toString('utf8', off + HEADER, off + HEADER + pathLen),
      data: buf.subarray(off + HEADER + pathLen, end),
    });
    off = end;
  }
  return { records, tornTail: off !== buf.length };
}

/** `dev:ino` → path of every regular file under `root`. */
function inodes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p, { bigint: true });
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(`${st.dev}:${st.ino}`, p);
    }
  };
  walk(root);
  return out;
}

/** Byte ranges [from, to) made durable by O_DSYNC writes newer than the record being undone. */
type Ranges = [number, number][];

/** Writes `data` at `at`, skipping the protected ranges. */
function writeOutside(fd: number, data: Buffer, at: number, protect: Ranges): void {
  let pieces: [number, number][] = [[at, at + data.length]];
  for (const [pf, pt] of protect) {
    pieces = pieces.flatMap(([f, t]): [number, number][] => {
      if (pt <= f || pf >= t) return [[f, t]];
      const keep: [number, number][] = [];
      if (f < pf) keep.push([f, pf]);
      if (pt < t) keep.push([pt, t]);
      return keep;
    });
  }
  for (const [f, t] of pieces) if (t > f) writeSync(fd, data, f - at, t - f, f);
}

/** Undoes one file's unsynced records (newest first); returns the dirty byte ranges. */
function undoFile(fd: number, recs: UndoRecord[]): Ranges {
  const protect: Ranges = [];
  const dirty: Ranges = [];
  for (const r of [...recs].sort((x, y) => (x.seq < y.seq ? 1 : -1))) {
    if (r.type === Rec.DSync) {
      protect.push([r.a, r.a + r.c]);
      continue;
    }
    const floor = protect.reduce((m, [, t]) => Math.max(m, t), 0);
    if (r.type === Rec.Write) {
      // Size first: the file goes back to its length before the write, then the old bytes.
      ftruncateSync(fd, Math.max(r.b, Math.min(floor, fstatSync(fd).size)));
      writeOutside(fd, r.data, r.a, protect);
      dirty.push([r.a, r.a + r.c]);
    } else {
      ftruncateSync(fd, Math.max(r.b, Math.min(floor, fstatSync(fd).size)));
      writeOutside(fd, r.data, r.a, protect);
      dirty.push([Math.min(r.a, r.b), Math.max(r.a, r.b)]);
    }
  }
  return dirty;
}

/** Deterministic PRNG for the torn choice (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pagesOf(ranges: Ranges): number[] {
  const pages = new Set<number>();
  for (const [f, t] of ranges) for (let p = Math.floor(f / PAGE); p * PAGE < t; p++) pages.add(p);
  return [...pages].sort((a, b) => a - b);
}

/**
 * Applies the cut to every file under `root` from the undo log `log`. Call it only
 * after the logging process is dead (SIGKILL). Idempotence is not a goal: cut once.
 */
export function powerCut(root: string, log: string, opts: CutOptions = {}): CutReport {
  const { records, tornTail } = readUndoLog(log);
  const synced = new Map<string, bigint>();
  let syncedAll = 0n;
  const shared = new Set<string>();
  for (const r of records) {
    if (r.type === Rec.Sync) synced.set(r.file, BigInt(r.a) > (synced.get(r.file) ?? 0n) ? BigInt(r.a) : synced.get(r.file)!);
    if (r.type === Rec.SyncAll && BigInt(r.a) > syncedAll) syncedAll = BigInt(r.a);
    if (r.type === Rec.Mmap) shared.add(r.path);
  }
  const byFile = new Map<string, UndoRecord[]>();
  for (const r of records) {
    if (r.type !== Rec.Write && r.type !== Rec.Trunc && r.type !== Rec.DSync) continue;
    const covered = (synced.get(r.file) ?? 0n) > syncedAll ? synced.get(r.file)! : syncedAll;
    if (r.seq <= covered) continue;
    const list = byFile.get(r.file) ?? [];
    list.push(r);
    byFile.set(r.file, list);
  }
  const paths = inodes(root);
  const random = rng(opts.seed ?? 1);
  const report: CutReport = { records: records.length, tornTail, files: 0, undoneIn: {}, undone: 0, pagesKept: 0, pagesDropped: 0, sharedMappings: [...shared].sort(), gone: 0 };
  for (const [file, recs] of byFile) {
    const undo = recs.filter((r) => r.type !== Rec.DSync);
    if (undo.length === 0) continue;
    const path = paths.get(file);
    if (path === undefined) {
      report.gone++;
      continue;
    }
    const fd = openSync(path, 'r+');
    try {
      const current = opts.mode === 'torn' ? readFileSync(path) : undefined;
      const dirty = undoFile(fd, recs);
      report.files++;
      report.undone += undo.length;
      report.undoneIn[path] = undo.length;
      const keep = opts.keepPage === undefined ? (): boolean => random() < (opts.keep ?? 0.5) : (page: number): boolean => opts.keepPage!(path, page);
      if (current !== undefined) keepSomePages(fd, current, dirty, keep, report);
    } finally {
      closeSync(fd);
    }
  }
  return report;
}

/** Torn mode: puts the pre-cut content back on a random subset of the dirty pages. */
function keepSomePages(fd: number, current: Buffer, dirty: Ranges, keep: (page: number) => boolean, report: CutReport): void {
  for (const p of pagesOf(dirty)) {
    const from = p * PAGE;
    if (from >= current.length) continue;
    if (!keep(p)) {
      report.pagesDropped++;
      continue;
    }
    const to = Math.min(current.length, from + PAGE);
    if (fstatSync(fd).size < to) ftruncateSync(fd, to); // pages between stay zero: never written back
    writeSync(fd, current, from, to - from, from);
    report.pagesKept++;
  }
}
