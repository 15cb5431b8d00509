/**
 * One device's group of flattened messages applied in one write transaction, in order:
 * runs of readings through {@link applyReadingsTo}, meta merges between them. Shared by
 * the gateway's commit paths (main thread) and the device-apply worker
 * (src/devices/apply-worker/), so both write the same bytes.
 */
import type { Flattened } from '../../codec/types.js';
import type { WriteTxn } from '../types.js';
import { applyMetaTo, applyReadingsTo } from './apply.js';
import { ensureRoot } from './root.js';
import type { ApplyOutcome, ReadingInput } from './types.js';

/** What one apply needs of a message (live or replayed from the journal). */
export interface ApplyInput {
  kind: 'telemetry' | 'meta';
  flat: Flattened;
  identity: Buffer;
  receivedAt: number;
}

/** A device's root stats after a group: what the device registry keeps per device. */
export interface GroupEntry {
  id: string;
  firstSeen: number;
  lastSeen: number;
  readings: number;
}

/** Applies one device's messages in order; returns per-message outcomes (null = meta) and the root's stats. */
export function applyWork(txn: WriteTxn, deviceId: string, work: readonly ApplyInput[]): { outcomes: (ApplyOutcome | null)[]; entry: GroupEntry } {
  const outcomes: (ApplyOutcome | null)[] = [];
  const first = work[0];
  if (first === undefined) return { outcomes, entry: { id: deviceId, firstSeen: 0, lastSeen: 0, readings: 0 } };
  // The root is read once per commit and carried through, not read again per run or at the end.
  let root = ensureRoot(txn, deviceId, first.receivedAt);
  let run: ReadingInput[] = [];
  const flushRun = (): void => {
    if (run.length === 0) return;
    const applied = applyReadingsTo(txn, root, run);
    for (const o of applied.outcomes) outcomes.push(o);
    root = applied.root;
    run = [];
  };
  for (const w of work) {
    if (w.kind === 'telemetry') {
      run.push({ flat: w.flat, identity: w.identity, receivedAt: w.receivedAt });
      continue;
    }
    flushRun();
    root = applyMetaTo(txn, root, { flat: w.flat, receivedAt: w.receivedAt });
    outcomes.push(null);
  }
  flushRun();
  return { outcomes, entry: { id: deviceId, firstSeen: root.firstSeen, lastSeen: root.lastSeen, readings: root.readingCount } };
}
