/**
 * Replay: the records found at open that their device has not applied yet (its
 * record ends past the device's checkpoint), in journal order, segment by segment,
 * reading one segment file at a time.
 */
import { readFile } from 'node:fs/promises';
import { LmjError } from '../../errors.js';
import { comparePositions, type Position } from './position.js';
import type { SegmentInfo } from './scan.js';
import { segmentPath } from './segment-file.js';
import type { ReplayEntry } from './types.js';
import { walkRecords } from './scan.js';

/**
 * Yields every record of `segments` (up to each one's valid end found at open) whose
 * end position is past `checkpoints.get(deviceId)`. A segment deleted meanwhile was
 * fully applied and is skipped. Throws JOURNAL_IO when a segment cannot be read.
 */
export async function* replaySegments(
  dir: string,
  segments: readonly SegmentInfo[],
  checkpoints: ReadonlyMap<string, Position>,
): AsyncGenerator<ReplayEntry> {
  for (const info of segments) {
    if (info.pending === 0) continue;
    let data: Buffer;
    try {
      data = await readFile(segmentPath(dir, info.segment));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new LmjError('JOURNAL_IO', `cannot read journal segment ${info.segment}`, { cause: err, details: { segment: info.segment } });
    }
    for (const { record, end } of walkRecords(data, info.validEnd)) {
      const position = { segment: info.segment, offset: end };
      const cp = checkpoints.get(record.deviceId);
      if (cp !== undefined && comparePositions(cp, position) >= 0) continue;
      yield { record, position };
    }
  }
}
