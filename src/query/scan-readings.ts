/**
 * Scans of the telemetry views inside one device's read transaction. A `readings`
 * scan walks the element range [from, to) of the `readings` set with one cursor and
 * reads only the referenced members: in column batches (`batch`/`auto`: one call per
 * 1,024 readings, in the addon with the native codec, see src/core/reading-columns.ts),
 * or per reading from TypeScript, either with one `main` get per member (`get`)
 * or (`walk`) with ONE cursor over `main` from the first reading's pointer: reading
 * pointers are created in time order within the device's partition, so consecutive
 * readings are consecutive key ranges of `main`. Pointers that are not in pointer
 * order (another process's pointers in the same millisecond, replayed records) or
 * other objects between readings are handled: the walk skips foreign keys, re-seeks
 * after a long skip, and falls back to gets for a reading it has passed.
 */
import { KIND_NONE, KIND_NUMBER, ReadingColumns } from '../core/index.js';
import { readRoot } from '../core/telemetry/root.js';
import { ROOT, ROOT_PTR, TS_MEMBER, tsPrefix } from '../core/telemetry/model.js';
import { isReference } from '../core/telemetry/values.js';
import { LmjError } from '../errors.js';
import type { MainEntry, ReadTxn } from '../core/types.js';
import type { Budget } from './budget.js';
import type { ScanMode, SqlValue } from './types.js';
import { decodeSql } from './values.js';

/** Slots of the fixed columns of `readings` and `latest` rows. */
export const DEVICE_SLOT = 0;
export const TS_SLOT = 1;
export const PTR_SLOT = 2;
/** First member slot. */
export const MEMBER_BASE = 3;

/** What to read from each reading. */
export interface ReadingScan {
  from: number | null;
  to: number | null;
  /** Member names; member i goes to slot MEMBER_BASE + i. */
  members: Buffer[];
  mode: ScanMode;
  wantPtr: boolean;
}

/** Called per row; the array is reused for the next row. Return false to stop the scan. */
export type Emit = (row: SqlValue[]) => boolean;

const CHUNK = 1024;
/** Foreign keys skipped before the walk re-seeks instead (an `ids` object can be large). */
const MAX_SKIP = 64;

function ptrCmp(key: Buffer, ptr: Buffer): number {
  return key.compare(ptr, 0, 17, 0, 17);
}

class MainWalk {
  private it: Iterator<MainEntry> | undefined;
  private cur: MainEntry | undefined;

  constructor(private readonly txn: ReadTxn) {}

  private seek(ptr: Buffer): void {
    this.it?.return?.();
    this.it = this.txn.mainRange(ptr)[Symbol.iterator]();
    this.advance();
  }

  private advance(): void {
    const r = (this.it as Iterator<MainEntry>).next();
    this.cur = r.done === true ? undefined : r.value;
  }

  /** Fills the members of `ptr` into `row`; false when the walk is already past `ptr`. */
  read(ptr: Buffer, members: Buffer[], row: SqlValue[], budget: Budget): boolean {
    if (this.it === undefined) this.seek(ptr);
    let skipped = 0;
    while (this.cur !== undefined && ptrCmp(this.cur.key, ptr) < 0) {
      if (++skipped > MAX_SKIP) {
        this.seek(ptr);
        break;
      }
      this.advance();
    }
    if (this.cur === undefined || ptrCmp(this.cur.key, ptr) > 0) {
      // Past it (out-of-order pointer): a fresh seek must not move the walk backwards for
      // the readings after it, so only this reading is read with gets.
      return false;
    }
    while (this.cur !== undefined && ptrCmp(this.cur.key, ptr) === 0) {
      const key = this.cur.key;
      for (let i = 0; i < members.length; i++) {
        const m = members[i] as Buffer;
        if (key.length === 17 + m.length && m.compare(key, 17) === 0) {
          row[MEMBER_BASE + i] = decodeSql(this.cur.value);
          budget.stats.valuesRead++;
          break;
        }
      }
      this.advance();
    }
    return true;
  }

  close(): void {
    this.it?.return?.();
  }
}

function readByGets(txn: ReadTxn, ptr: Buffer, members: Buffer[], row: SqlValue[], budget: Budget): void {
  for (let i = 0; i < members.length; i++) {
    const v = txn.memberValue(ptr, members[i] as Buffer);
    if (v !== undefined) {
      row[MEMBER_BASE + i] = decodeSql(v);
      budget.stats.valuesRead++;
    }
  }
}

/** Whether the per-reading scan walks `main` (mode `walk`) instead of one get per member. */
function useWalk(spec: ReadingScan): boolean {
  return spec.members.length > 0 && spec.mode === 'walk';
}

/**
 * One reference member of the device root (`readings`, `latest`): null when the instance
 * was never written. Reads only that member, not the whole root (a scan per device).
 */
export function rootRef(txn: ReadTxn, name: Buffer): Buffer | null {
  if (!txn.exists(ROOT_PTR)) return null;
  const v = txn.memberValue(ROOT_PTR, name);
  if (v === undefined || !isReference(v)) {
    throw new LmjError('STORE_CORRUPT', `device root member "${name.toString()}" is missing or not a pointer`);
  }
  return Buffer.from(v);
}

/**
 * Readings in column batches (see the file comment); false when `emit` stopped. The
 * first batch reads the root's `readings` pointer itself (in the addon with the native
 * codec), the next ones continue on that set.
 */
function scanBatches(txn: ReadTxn, deviceId: string, spec: ReadingScan, width: number, emit: Emit, budget: Budget): boolean {
  const members = spec.members;
  const m = members.length;
  const cols = new ReadingColumns(members, CHUNK);
  const row: SqlValue[] = new Array<SqlValue>(width).fill(null);
  let from: Buffer | null = spec.from === null ? null : tsPrefix(spec.from);
  const to = spec.to === null ? null : tsPrefix(spec.to);
  for (let first = true; ; first = false) {
    if (first) txn.ownedReadingColumns(ROOT_PTR, ROOT.readings, from, to, cols);
    else txn.readingColumns(cols.set, from, to, cols);
    const { elements: els, kinds, nums } = cols;
    for (let r = 0; r < cols.rows; r++) {
      budget.row();
      const off = r * 25;
      row[DEVICE_SLOT] = deviceId;
      row[TS_SLOT] = els.readUInt32BE(off) * 0x1_0000_0000 + els.readUInt32BE(off + 4);
      row[PTR_SLOT] = spec.wantPtr ? els.toString('hex', off + 8, off + 25) : null;
      for (let i = MEMBER_BASE; i < width; i++) row[i] = null;
      for (let i = 0, slot = r * m; i < m; i++, slot++) {
        const kind = kinds[slot];
        if (kind === KIND_NONE) continue;
        budget.stats.valuesRead++;
        if (kind === KIND_NUMBER) {
          row[MEMBER_BASE + i] = nums[slot] as number;
        } else {
          // Text, booleans and wide numbers: decoded here, from the same snapshot.
          const v = txn.memberValue(els.subarray(off + 8, off + 25), members[i] as Buffer);
          row[MEMBER_BASE + i] = v === undefined ? null : decodeSql(v);
        }
      }
      if (!emit(row)) return false;
    }
    if (cols.done || cols.rows === 0) return true;
    from = cols.after();
  }
}

/** Scans one device's readings in time order; returns false when `emit` stopped it. */
export function scanReadings(txn: ReadTxn, deviceId: string, spec: ReadingScan, width: number, emit: Emit, budget: Budget): boolean {
  if (spec.from !== null && spec.to !== null && spec.from >= spec.to) return true;
  if (spec.mode === 'batch' || spec.mode === 'auto') return scanBatches(txn, deviceId, spec, width, emit, budget);
  const readings = rootRef(txn, ROOT.readings);
  if (readings === null) return true;
  const row: SqlValue[] = new Array<SqlValue>(width).fill(null);
  const walk = useWalk(spec) ? new MainWalk(txn) : undefined;
  let from: Buffer | undefined = spec.from === null ? undefined : tsPrefix(spec.from);
  const to = spec.to === null ? undefined : tsPrefix(spec.to);
  try {
    for (;;) {
      const range: { from?: Buffer; to?: Buffer; limit: number } = { limit: CHUNK };
      if (from !== undefined) range.from = from;
      if (to !== undefined) range.to = to;
      const elements = txn.setRange(readings, range);
      for (const el of elements) {
        budget.row();
        const ptr = el.subarray(8);
        row[DEVICE_SLOT] = deviceId;
        // Two 32-bit halves: exact below 2^53 and cheaper than a BigInt per reading.
        row[TS_SLOT] = el.readUInt32BE(0) * 0x1_0000_0000 + el.readUInt32BE(4);
        row[PTR_SLOT] = spec.wantPtr ? ptr.toString('hex') : null;
        for (let i = MEMBER_BASE; i < width; i++) row[i] = null;
        if (walk === undefined || !walk.read(ptr, spec.members, row, budget)) readByGets(txn, ptr, spec.members, row, budget);
        if (!emit(row)) return false;
      }
      const last = elements[elements.length - 1];
      if (elements.length < CHUNK || last === undefined) return true;
      // The smallest element above the last one.
      from = Buffer.concat([last, Buffer.alloc(1)]);
    }
  } finally {
    walk?.close();
  }
}

/** The `latest` row of one device: device, ts (`latest.$ts`), members; false when stopped. */
export function scanLatest(txn: ReadTxn, deviceId: string, members: Buffer[], width: number, emit: Emit, budget: Budget): boolean {
  const latest = rootRef(txn, ROOT.latest);
  if (latest === null) return true;
  budget.row();
  const row: SqlValue[] = new Array<SqlValue>(width).fill(null);
  row[DEVICE_SLOT] = deviceId;
  const ts = txn.memberValue(latest, TS_MEMBER);
  row[TS_SLOT] = ts === undefined ? null : decodeSql(ts);
  row[PTR_SLOT] = latest.toString('hex');
  readByGets(txn, latest, members, row, budget);
  return emit(row);
}

/** Columns of the `devices` view, in slot order. */
export const DEVICE_COLUMNS = ['device', 'first_seen', 'last_seen', 'reading_count', 'latest_ts'] as const;

/** The `devices` row of one device; false when stopped. */
export function scanDevice(txn: ReadTxn, deviceId: string, emit: Emit, budget: Budget): boolean {
  const root = readRoot(txn);
  if (root === null) return true;
  budget.row();
  const ts = txn.memberValue(root.latest, '$ts');
  budget.stats.valuesRead += 4;
  return emit([deviceId, root.firstSeen, root.lastSeen, root.readingCount, ts === undefined ? null : decodeSql(ts)]);
}
