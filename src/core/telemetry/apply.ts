/** Writing readings and metadata into a device instance (inside a WriteTxn). */
import { LmjError } from '../../errors.js';
import type { WriteTxn } from '../types.js';
import type { ApplyOutcome, MetaInput, ReadingInput } from './types.js';

/**
 * Applies readings of one device in order: creates the root on first use, skips
 * duplicates (same identity), writes one reading object per new message, appends its
 * `readings` element, updates `latest`, `first_seen`/`last_seen` and the count.
 * Pointers come from the store's partition (open it with `codec.partitionOf(deviceId)`).
 */
export function applyReadings(txn: WriteTxn, deviceId: string, inputs: readonly ReadingInput[]): ApplyOutcome[] {
  void txn; void deviceId; void inputs;
  throw new LmjError('INVALID_PARAM', 'applyReadings: not implemented yet');
}

/** Merges a `meta` payload's flattened paths into the device's `meta` object. */
export function applyMeta(txn: WriteTxn, deviceId: string, input: MetaInput): void {
  void txn; void deviceId; void input;
  throw new LmjError('INVALID_PARAM', 'applyMeta: not implemented yet');
}
