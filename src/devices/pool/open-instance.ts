/**
 * Opening one device's instance for the pool (./pool.ts), and the error a failed open
 * is reported as: DEVICE_UNAVAILABLE with a reason (FD_EXHAUSTED, the cause's code, or
 * OPEN_FAILED) and a message that names the device, never its path.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Codec } from '../../codec/types.js';
import { cleanupCompaction } from '../../core/compact.js';
import { openStore } from '../../core/index.js';
import type { LmjStore } from '../../core/types.js';
import { LmjError, isLmjError } from '../../errors.js';
import { deviceMessage } from './device-message.js';
import { isFdExhaustion } from './fd-exhaustion.js';
import type { PoolOptions } from './types.js';

/** Opens (creating it if needed) the instance of `id` under `devicesDir`; throws the raw cause. */
export function openInstance(devicesDir: string, id: string, options: PoolOptions, codec: Codec): LmjStore {
  const path = join(devicesDir, id);
  mkdirSync(path, { recursive: true });
  // A compaction interrupted before its rename left its temporary copy behind.
  cleanupCompaction(path);
  return openStore(path, {
    durability: options.durability ?? 'safe',
    codec,
    partition: codec.partitionOf(id),
    ...(options.mapSize === undefined ? {} : { mapSize: options.mapSize }),
  });
}

/** The error a failed open of `id` is reported as; `backoff` false when the process (not the device) ran out of descriptors. */
export function openFailure(devicesDir: string, id: string, cause: unknown): { error: LmjError; backoff: boolean } {
  const fdExhausted = isFdExhaustion(cause);
  const reason = fdExhausted ? 'FD_EXHAUSTED' : isLmjError(cause) ? cause.code : 'OPEN_FAILED';
  const why = deviceMessage(String((cause as Error)?.message ?? cause), devicesDir, join(devicesDir, id), id);
  const error = new LmjError('DEVICE_UNAVAILABLE', `cannot open device ${id}: ${why}`, { cause, details: { deviceId: id, reason } });
  return { error, backoff: !fdExhausted };
}
