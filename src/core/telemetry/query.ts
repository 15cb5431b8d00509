/** Read-side queries over one device instance (any transaction). */
import { LmjError } from '../../errors.js';
import type { ReadTxn } from '../types.js';
import type { DeviceSummary, LatestView, ReadingView, ReadingsPage, ReadingsQuery } from './types.js';

/** Largest page of readings. */
export const MAX_READINGS_LIMIT = 1000;

/** The device's root summary, or null when the instance has no root (never written). */
export function deviceSummary(txn: ReadTxn): DeviceSummary | null {
  void txn;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}

/** Latest value per flattened path, or null when the instance has no root. */
export function latest(txn: ReadTxn): LatestView | null {
  void txn;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}

/** A page of readings in time order. Throws BAD_REQUEST for a bad range, limit or cursor. */
export function readings(txn: ReadTxn, query?: ReadingsQuery): ReadingsPage {
  void txn; void query;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}

/** The reading stored for a message identity, or null. */
export function findByIdentity(txn: ReadTxn, identity: Uint8Array): ReadingView | null {
  void txn; void identity;
  throw new LmjError('INVALID_PARAM', 'not implemented yet');
}
