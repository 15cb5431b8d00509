/**
 * Dead letters: every rejected message, kept durably with its raw bytes, in the
 * gateway-level LMDB environment `DIR/gateway/`, bounded by count and bytes (oldest
 * dropped first, counted).
 */
import type { ErrorCode } from '../errors.js';

/** One dead letter as listed. */
export interface DeadLetter {
  /** Sequence number, increasing; also the paging cursor. */
  seq: number;
  /** When it was rejected, Unix ms. */
  at: number;
  topic: string;
  code: ErrorCode;
  message: string;
  deviceId?: string;
  clientId?: string;
  qos: 0 | 1;
  /** The raw payload bytes. */
  payload: Buffer;
}

/** Paging for the dead-letter list (newest first). */
export interface DeadLetterQuery {
  /** 1..1000, default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

/** A page of dead letters, newest first; `next` is null on the last page. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  next: string | null;
  /** Total kept now, and how many were dropped so far to stay in budget. */
  total: number;
  dropped: number;
}
