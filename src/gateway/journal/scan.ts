/**
 * Reading segment files back: the recovery scan at open (what each segment holds,
 * where its valid records end, torn tails and corruption) and the record walk that
 * replay uses.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { LmjError } from '../../errors.js';
import { comparePositions, type Position } from './position.js';
import { decodeRecord, type JournalRecord } from './record.js';
import { SEGMENT_HEADER_BYTES, segmentHeaderProblem, segmentPath } from './segment-file.js';

/** What the journal knows about one segment file. */
export interface SegmentInfo {
  segment: number;
  /** Bytes of the file (counted against the budget). */
  bytes: number;
  /** End of the last valid record; replay reads [header, validEnd). */
  validEnd: number;
  /** Device id → end offset of its last record in this segment. */
  devices: Map<string, number>;
  records: number;
  /** Records past their device's checkpoint at open (what replay yields). */
  pending: number;
}

/** What the recovery scan found wrong with one segment. */
export type ScanFinding =
  | { kind: 'torn'; segment: number; offset: number; bytes: number; detail: string }
  | { kind: 'corrupt'; error: LmjError };

/** Walks the valid records of a segment's data, from the header up to `until`. */
export function* walkRecords(data: Buffer, until: number): Generator<{ record: JournalRecord; end: number }> {
  let at = SEGMENT_HEADER_BYTES;
  while (at < until) {
    const r = decodeRecord(data, at);
    if (!r.ok || r.end > until) return;
    yield { record: r.record, end: r.end };
    at = r.end;
  }
}

function corruptError(segment: number, offset: number, detail: string, path: string): LmjError {
  return new LmjError('JOURNAL_CORRUPT', `journal segment ${segment} is corrupt at offset ${offset} (${detail}); the rest of it is skipped`, {
    details: { segment, offset, detail, path },
  });
}

/** Cuts the last segment back to its last valid record, durably. */
async function truncateTail(path: string, length: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(length);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * Scans segment `n`. In the LAST segment an invalid or cut-short record is a torn
 * write from a crash (the only unsynced bytes a crash can leave are at the end of the
 * active segment): the file is truncated there. In an older segment it is corruption:
 * a JOURNAL_CORRUPT finding, and replay skips the rest of that segment. A segment
 * whose header is bad is renamed `<name>.corrupt` (older) or removed when it is the
 * last one and shorter than a header (a crash while it was being created).
 * Returns undefined when the segment is no longer part of the journal.
 */
export async function scanSegment(
  dir: string,
  n: number,
  isLast: boolean,
  checkpoints: ReadonlyMap<string, Position>,
  findings: ScanFinding[],
): Promise<SegmentInfo | undefined> {
  const path = segmentPath(dir, n);
  const data = await readFile(path);
  const headerProblem = segmentHeaderProblem(data, n);
  if (headerProblem !== undefined) {
    if (isLast && data.length < SEGMENT_HEADER_BYTES) {
      findings.push({ kind: 'torn', segment: n, offset: 0, bytes: data.length, detail: headerProblem });
      await unlink(path);
    } else {
      findings.push({ kind: 'corrupt', error: corruptError(n, 0, headerProblem, path) });
      await rename(path, `${path}.corrupt`);
    }
    return undefined;
  }
  const devices = new Map<string, number>();
  let records = 0;
  let pending = 0;
  let at = SEGMENT_HEADER_BYTES;
  while (at < data.length) {
    const r = decodeRecord(data, at);
    if (!r.ok) {
      if (isLast) {
        findings.push({ kind: 'torn', segment: n, offset: at, bytes: data.length - at, detail: r.detail });
        await truncateTail(path, at);
        return { segment: n, bytes: at, validEnd: at, devices, records, pending };
      }
      findings.push({ kind: 'corrupt', error: corruptError(n, at, r.detail, path) });
      break;
    }
    devices.set(r.record.deviceId, r.end);
    records++;
    const cp = checkpoints.get(r.record.deviceId);
    if (cp === undefined || comparePositions(cp, { segment: n, offset: r.end }) < 0) pending++;
    at = r.end;
  }
  return { segment: n, bytes: data.length, validEnd: at, devices, records, pending };
}
