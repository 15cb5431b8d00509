/** Exact-bytes export and idempotent apply of readings, for sync and the router. */
import { LmjError } from '../../errors.js';
import type { ReadTxn, WriteTxn } from '../types.js';
import type { ApplyRecordsResult, ReadingRecord } from './types.js';

/**
 * Readings after `afterElement` (exclusive; undefined = from the start), in element
 * order, at most `limit`, with every member's exact bytes.
 */
export function exportRecords(txn: ReadTxn, afterElement: Uint8Array | undefined, limit: number): ReadingRecord[] {
  void txn; void afterElement; void limit;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}

/**
 * Writes exported records idempotently: the same pointers, members and elements byte
 * for byte; records already present are skipped. Creates the root if needed and
 * updates `latest` (only from records newer than it), first/last seen and the count.
 * Throws WRONG_PARTITION / BAD_BATCH for a record that does not fit the device.
 */
export function applyRecords(txn: WriteTxn, deviceId: string, records: readonly ReadingRecord[]): ApplyRecordsResult {
  void txn; void deviceId; void records;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}
