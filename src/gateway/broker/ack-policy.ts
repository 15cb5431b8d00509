/**
 * When a QoS 1 message gets its PUBACK.
 *
 * Stored, duplicate and meta results are durable: ack. A message rejected for
 * what it is (bad topic, bad id, bad payload — the same bytes would fail again,
 * and they are dead-lettered durably) is acked too, so a bad message never blocks
 * its client's session. A message that failed because of the gateway itself
 * (shutting down, overloaded, disk full, storage or journal I/O, journal budget reached) is
 * NOT acked: the connection is closed and the client redelivers it after
 * reconnecting, when it can succeed.
 * DEVICE_UNAVAILABLE (an instance that cannot be opened, e.g. corrupt) is acked:
 * it is dead-lettered with its raw bytes, and retrying would block the client
 * until an operator repairs the device.
 */
import type { ErrorCode } from '../../errors.js';
import type { IngestResult } from '../ingest/types.js';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SHUTTING_DOWN',
  'OVERLOADED',
  'STORE_IO',
  'DISK_FULL',
  'STORE_CLOSED',
  'STORE_OPEN_FAILED',
  'TXN_FINISHED',
  'MEMORY_ALLOCATION_FAILED',
  'JOURNAL_IO',
  'JOURNAL_FULL',
  'JOURNAL_CLOSED',
]);

/** True when this result may be acknowledged to the publisher. */
export function shouldAck(result: IngestResult): boolean {
  return result.status !== 'rejected' || !RETRYABLE.has(result.code);
}
