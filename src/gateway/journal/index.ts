/**
 * The gateway write-ahead journal: durable group commit of incoming messages (one
 * fdatasync per group), per-device applied checkpoints, replay. docs/journal.md.
 */
export { Journal } from './journal.js';
export type { GroupTiming, JournalHooks, JournalOptions, JournalStats, ReplayEntry } from './types.js';
export { comparePositions, isPosition, type Position } from './position.js';
export { encodeRecord, decodeRecord, type DecodeResult, type JournalRecord } from './record.js';
export { SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES, segmentName } from './segment-file.js';
