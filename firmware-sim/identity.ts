/**
 * The message identity the gateway dedupes on: the first 16 bytes of SHA-256 over the
 * raw payload bytes (the same rule as `messageIdentity` in src/core/telemetry; a unit
 * test checks both agree). The simulator computes it itself so that publishing never
 * depends on the storage layer being importable.
 */
import { createHash } from 'node:crypto';

/** 16-byte identity of a payload. */
export function payloadIdentity(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 16);
}
