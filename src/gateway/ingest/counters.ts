/** The ingest pipeline's monotonic counters (the non-gauge part of {@link IngestStats}). */
import type { ErrorCode } from '../../errors.js';
import type { IngestResult, IngestStats } from './types.js';

/** Counters, by final result and by event. */
export type IngestCounters = Omit<IngestStats, 'pending' | 'pendingBytes' | 'pool' | 'journal'>;

/** Fresh counters, all zero. */
export function newCounters(): IngestCounters {
  return {
    submitted: 0, accepted: 0, stored: 0, duplicates: 0, meta: 0, rejected: 0, commits: 0, backpressureWaits: 0, deadLettersDropped: 0,
    rejectedByCode: {} as Partial<Record<ErrorCode, number>>,
  };
}

/** Counts one final result. */
export function countResult(c: IngestCounters, result: IngestResult): void {
  if (result.status === 'accepted') c.accepted++;
  else if (result.status === 'stored') c.stored++;
  else if (result.status === 'duplicate') c.duplicates++;
  else if (result.status === 'meta') c.meta++;
  else {
    c.rejected++;
    c.rejectedByCode[result.code] = (c.rejectedByCode[result.code] ?? 0) + 1;
  }
}
