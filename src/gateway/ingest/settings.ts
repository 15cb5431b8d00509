/** The ingest pipeline's limits, resolved from {@link IngestOptions} and checked once. */
import { LmjError } from '../../errors.js';
import type { ApplyWorker } from '../../devices/apply-worker/index.js';
import type { IngestOptions } from './types.js';

/** Resolved limits of one pipeline. */
export interface IngestLimits {
  /** Most messages per device commit and per codec call. */
  maxMessages: number;
  /** Longest wait before submitted messages are prepared, ms. */
  maxDelayMs: number;
  /** Devices committing at once. */
  maxInflight: number;
  /** Accepted-but-unresolved messages before `submit` waits. */
  maxQueue: number;
  /** Their payload bytes before `submit` waits. */
  maxQueueBytes: number;
  maxPayloadBytes: number;
  /** Journal on: device commits in flight while applying. */
  applyInFlight: number;
  /** Journal on: journaled messages not yet applied before acks wait (admission). */
  applyBacklog: number;
  /** Journal on: queued messages past which new ones are held unflattened. */
  applyKeepFlat: number;
  /** Journal on: device commits in the apply worker thread (a caller's shared one, or one of the pipeline's own). */
  applyWorker: boolean | ApplyWorker;
}

/**
 * Journal on, the apply order (./apply-order.ts) and memory: with more devices waiting than
 * the pool holds, a device waits for this many messages (or {@link APPLY_MAX_WAIT_MS}) so
 * one instance open applies many; past {@link APPLY_KEEP_FLAT} queued messages new ones
 * are held unflattened (~300 B instead of ~3 KB each); at {@link APPLY_PRESSURE} of the
 * backlog bound every waiting device may start, largest first.
 */
export const APPLY_MIN_GROUP = 16;
export const APPLY_MAX_WAIT_MS = 20_000;
export const APPLY_KEEP_FLAT = 8192;
export const APPLY_PRESSURE = 0.75;

/**
 * Bounds on synchronous main-thread work, so an fdatasync completion, a PUBACK or an HTTP
 * request never waits behind a long slice (docs/daemon.md, *Where the ack latency goes*):
 * a device commit applied on the main thread takes at most {@link MAIN_APPLY_SLICE}
 * messages (its lmdb-js transaction callback runs them all at once; the worker's commits
 * keep `batch.maxMessages`), and the journaled path prepares (validates, flattens) at most
 * {@link PREPARE_TURN_MESSAGES} messages per event-loop turn, the rest in the next turns.
 */
export const MAIN_APPLY_SLICE = 256;
export const PREPARE_TURN_MESSAGES = 256;

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isFinite(n) || n <= 0) throw new LmjError('BAD_CONFIG', `${name} must be a positive number`, { details: { key: name, value: v } });
  return n;
}

/** The limits with their defaults; throws BAD_CONFIG naming the key for a non-positive value. */
export function resolveIngestLimits(options: IngestOptions): IngestLimits {
  return {
    maxMessages: Math.floor(positive('batch.maxMessages', options.batch?.maxMessages, 4096)),
    maxDelayMs: positive('batch.maxDelayMs', options.batch?.maxDelayMs, 2),
    maxInflight: Math.floor(positive('batch.maxInflight', options.batch?.maxInflight, 1024)),
    maxQueue: Math.floor(positive('queue.maxMessages', options.queue?.maxMessages, 20_000)),
    maxQueueBytes: positive('queue.maxBytes', options.queue?.maxBytes, 64 * 1024 * 1024),
    maxPayloadBytes: positive('maxPayloadBytes', options.maxPayloadBytes, 64 * 1024),
    // 4, not more: each device commit holds a pool thread and two flushes, and the journal's
    // fdatasync queues behind them (16 in flight pulled the ack rate down to the apply rate).
    applyInFlight: Math.floor(positive('journal.applyInFlight', options.journal?.applyInFlight, 4)),
    // Held as payloads past APPLY_KEEP_FLAT: ~100,000 × ~600 B ≈ 60 MB at most.
    applyBacklog: Math.floor(positive('journal.maxBacklog', options.journal?.maxBacklog, 100_000)),
    applyKeepFlat: Math.floor(positive('journal.keepFlat', options.journal?.keepFlat, APPLY_KEEP_FLAT)),
    // The environment's default lets a whole test suite run with the worker; the daemon always passes its config.
    applyWorker: options.journal?.applyWorker ?? process.env.LMJ_EDGE_INGEST_APPLY_WORKER === 'on',
  };
}
