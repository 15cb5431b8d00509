/**
 * The journal's public types: options, hooks, counters and replay entries.
 * Implementation: ./journal.ts; format: docs/journal.md.
 */
import type { LmjError } from '../../errors.js';
import type { Position } from './position.js';
import type { JournalRecord } from './record.js';
import type { GroupTiming } from './writer.js';

export type { GroupTiming };

/** Callbacks for logs and metrics; a throwing hook is ignored. */
export interface JournalHooks {
  /** Corruption found: a segment's middle (rest skipped) or an unreadable checkpoint file. */
  corrupt?(err: LmjError): void;
  /** A torn tail (crash mid-write) was cut off the last segment at open. */
  tornTail?(info: { segment: number; offset: number; bytes: number }): void;
  /** The journal went over (true) or back under (false) its byte budget. */
  budget?(over: boolean): void;
  /** A group could not be made durable (its append rejected with this JOURNAL_IO). */
  appendFailed?(err: LmjError): void;
  /** A checkpoint write or segment deletion failed; retried at the next interval. */
  checkpointFailed?(err: LmjError): void;
  /** A group was made durable: where its time went (metrics). */
  group?(timing: GroupTiming): void;
}

/** Options of {@link Journal.open}. Only `dir` is required. */
export interface JournalOptions {
  /** Directory of the segment and checkpoint files (e.g. `DIR/gateway/journal`). */
  dir: string;
  /** Rotate to a new segment when a group would take the active one past this (default 32 MiB). */
  segmentBytes?: number;
  /** Byte budget of all segment files; appends are refused beyond it (default 512 MiB, ≥ 2 segments). */
  maxBytes?: number;
  /** Longest time an applied position waits before it is checkpointed (default 200 ms). */
  checkpointIntervalMs?: number;
  /** Largest payload accepted in one record (default 1 MiB). */
  maxPayloadBytes?: number;
  hooks?: JournalHooks;
}

/** Counters since open (gauges marked). */
export interface JournalStats {
  /** Gauge: bytes of all segment files. */
  bytes: number;
  /** Gauge: segment files (including the active one). */
  segments: number;
  /** Gauge: the active segment's number. */
  activeSegment: number;
  /** Gauge: over the byte budget (appends are refused). */
  overBudget: boolean;
  /** Gauge: devices with a checkpoint or records in the journal. */
  devices: number;
  appendedRecords: number;
  /** Durable groups = fdatasyncs of appended data. */
  groups: number;
  /** Groups that failed (JOURNAL_IO). */
  failedGroups: number;
  /** Appends refused with JOURNAL_FULL. */
  refusedFull: number;
  tornTails: number;
  tornBytes: number;
  corruptSegments: number;
  /** Checkpoint files found unreadable at open (everything was replayed instead). */
  corruptCheckpoints: number;
  checkpointsWritten: number;
  checkpointFailures: number;
  segmentsDeleted: number;
  /** Records found at open that were not yet applied (what replay yields). */
  replayRecords: number;
}

/** One record yielded by replay, with its position (pass it to `applied` once applied). */
export interface ReplayEntry {
  record: JournalRecord;
  position: Position;
}
