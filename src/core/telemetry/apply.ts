/** Writing readings and metadata into a device instance (inside a WriteTxn). */
import type { Flattened } from '../../codec/types.js';
import type { WriteTxn } from '../types.js';
import { ID_MEMBER, TS_MEMBER, decodeElement, encodeElement } from './model.js';
import { ensureRoot, updateRootStats, type Root } from './root.js';
import type { ApplyOutcome, MetaInput, ReadingInput } from './types.js';
import { cborBytes, cborUint } from './values.js';

/** Collects `latest` updates so a group writes each path once, last value winning. */
export class LatestBuffer {
  private readonly flats: Flattened[] = [];
  private ts: number | null = null;

  add(flat: Flattened, ts: number): void {
    this.flats.push(flat);
    this.ts = this.ts === null ? ts : Math.max(this.ts, ts);
  }

  /** Writes the collected values into `latest`, one put per path. */
  write(txn: WriteTxn, latest: Buffer): void {
    if (this.ts === null) return;
    const index = new Map<string, number>();
    const names: Buffer[] = [];
    const values: Buffer[] = [];
    let newer: Buffer[] | undefined;
    // Newest first, so the first value seen for a path wins; a message with the same
    // paths as the newer one before it has nothing left to give (the usual case).
    for (let m = this.flats.length - 1; m >= 0; m--) {
      const { paths, values: vals } = this.flats[m]!;
      if (newer !== undefined && samePaths(paths, newer)) continue;
      newer = paths;
      for (let i = 0; i < paths.length; i++) {
        const key = paths[i]!.toString('latin1');
        if (index.has(key)) continue;
        index.set(key, names.length);
        names.push(paths[i]!);
        values.push(vals[i]!);
      }
    }
    names.push(TS_MEMBER);
    values.push(cborUint(this.ts));
    txn.objCreateWith(latest, names, values);
  }
}

function samePaths(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !a[i]!.equals(b[i]!)) return false;
  return true;
}

/** Writes one new reading object with its members (flattened paths, `$ts`, `$id`). */
export function writeReadingMembers(txn: WriteTxn, ptr: Buffer, flat: Flattened, ts: number, identity: Buffer): void {
  // `$id` < `$ts` < the paths (sorted, and a leading `$` is escaped): already key order.
  txn.objCreateWith(ptr, [ID_MEMBER, TS_MEMBER, ...flat.paths], [cborBytes(identity), cborUint(ts), ...flat.values]);
}

function lastElement(txn: WriteTxn, root: Root): { ts: number; ptr: Buffer } | null {
  const last = txn.setRange(root.readings, { reverse: true, limit: 1 })[0];
  return last === undefined ? null : decodeElement(last);
}

/**
 * Applies readings of one device in order: creates the root on first use, skips
 * duplicates (same identity, also within `inputs`), writes one reading object per new
 * message, appends its `readings` element, updates `latest`, first/last seen and the
 * count. Pointers come from the store's partition (open it with
 * `codec.partitionOf(deviceId)`).
 *
 * Element order is append-only per device: a reading's ts is its receive time clamped
 * to ≥ the previous reading's ts, and bumped by 1 ms in the rare case that an equal ts
 * would sort its pointer before the previous element (pointers from another process).
 */
export function applyReadings(txn: WriteTxn, deviceId: string, inputs: readonly ReadingInput[]): ApplyOutcome[] {
  const first = inputs[0];
  if (first === undefined) return [];
  return applyReadingsTo(txn, ensureRoot(txn, deviceId, first.receivedAt), inputs).outcomes;
}

/** {@link applyReadings} on a root already read; returns the root as it is afterwards. */
export function applyReadingsTo(txn: WriteTxn, root: Root, inputs: readonly ReadingInput[]): { outcomes: ApplyOutcome[]; root: Root } {
  const prev = lastElement(txn, root);
  let lastTs = prev?.ts ?? 0;
  let lastPtr = prev?.ptr;
  let count = root.readingCount;
  const latest = new LatestBuffer();
  const outcomes: ApplyOutcome[] = [];
  for (const input of inputs) {
    const existing = txn.memberValue(root.ids, input.identity);
    if (existing !== undefined) {
      outcomes.push({ status: 'duplicate', ptr: Buffer.from(existing) });
      continue;
    }
    const ptr = txn.objPointer();
    let ts = Math.max(Math.floor(input.receivedAt), lastTs);
    if (ts === lastTs && lastPtr !== undefined && Buffer.compare(ptr, lastPtr) <= 0) ts = lastTs + 1;
    writeReadingMembers(txn, ptr, input.flat, ts, input.identity);
    const element = encodeElement(ts, ptr);
    txn.setAdd(root.readings, element);
    txn.memberPut(root.ids, input.identity, ptr);
    latest.add(input.flat, ts);
    lastTs = ts;
    lastPtr = ptr;
    count++;
    outcomes.push({ status: 'stored', ptr, ts, element });
  }
  latest.write(txn, root.latest);
  const after = {
    firstSeen: Math.min(root.firstSeen, lastTs || root.firstSeen),
    lastSeen: Math.max(root.lastSeen, lastTs),
    readingCount: count,
  };
  updateRootStats(txn, root, after);
  return { outcomes, root: { ...root, ...after } };
}

/**
 * Merges a `meta` payload's flattened paths into the device's `meta` object (path by
 * path, last value wins; paths absent from the payload are kept) and sets its `$ts`.
 */
export function applyMeta(txn: WriteTxn, deviceId: string, input: MetaInput): void {
  applyMetaTo(txn, ensureRoot(txn, deviceId, input.receivedAt), input);
}

/** {@link applyMeta} on a root already read; returns the root as it is afterwards. */
export function applyMetaTo(txn: WriteTxn, root: Root, input: MetaInput): Root {
  for (let i = 0; i < input.flat.paths.length; i++) {
    txn.memberPut(root.meta, input.flat.paths[i] as Buffer, input.flat.values[i] as Buffer);
  }
  const ts = Math.floor(input.receivedAt);
  txn.memberPut(root.meta, TS_MEMBER, cborUint(ts));
  const after = { firstSeen: root.firstSeen, lastSeen: Math.max(root.lastSeen, ts), readingCount: root.readingCount };
  updateRootStats(txn, root, after);
  return { ...root, ...after };
}
