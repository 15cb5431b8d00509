/**
 * Journal positions: (segment number, byte offset in that segment). A record's
 * position is where it ENDS, so "applied up to p" means every record ending at or
 * before p. Positions of one journal are totally ordered.
 */

/** A place in the journal: segment number and byte offset inside that segment. */
export interface Position {
  readonly segment: number;
  readonly offset: number;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function comparePositions(a: Position, b: Position): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

/** True when `p` is a well-formed position (non-negative safe integers). */
export function isPosition(p: unknown): p is Position {
  if (typeof p !== 'object' || p === null) return false;
  const { segment, offset } = p as Position;
  return Number.isSafeInteger(segment) && segment >= 0 && Number.isSafeInteger(offset) && offset >= 0;
}
