/**
 * The daemon's disk guard: created over the data directory with the `storage.*`
 * settings, its metrics registered, and the refusal ingest asks before each message.
 */
import { mkdirSync } from 'node:fs';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../http/logger.js';
import type { GatewayConfig } from './config/index.js';
import { DiskGuard, isDiskError } from './disk-guard.js';
import { registerDiskMetrics } from './disk-metrics.js';
import type { GatewayMetrics } from './metrics.js';

/** The guard plus the ingest `refuse` callback over it. */
export function startDiskGuard(config: GatewayConfig, log: Logger, metrics: GatewayMetrics): {
  guard: DiskGuard;
  /** Removes the process-level handler of lmdb-js's unreachable commit rejections. */
  dispose: () => void;
  refuse: () => { code: ErrorCode; message: string } | undefined;
} {
  mkdirSync(config.dataDir, { recursive: true });
  const guard = new DiskGuard({
    dir: config.dataDir,
    minFreeBytes: config.storage.minFreeBytes,
    checkIntervalMs: config.storage.checkIntervalMs,
    log: log.child({ component: 'disk' }),
  });
  registerDiskMetrics(metrics.registry, guard);
  // lmdb-js (the stores opened with it directly: dead letters, registry, outbox state)
  // rejects an internal promise of a failed commit that no caller holds, with a generic
  // "Commit failed" whose cause is on a second promise (`commitError`). Whatever the cause
  // (ENOSPC, EIO, EROFS, EFBIG, …) it must not kill the process: the cause is handled here
  // and pauses ingest only when it is a disk error. Any other unhandled rejection is a bug
  // and still ends the process.
  const onRejection = (reason: unknown): void => {
    const inner = (reason as { commitError?: unknown } | null)?.commitError;
    if (inner instanceof Promise) {
      inner.catch((e: unknown) => guard.noteError(e as Error));
      return;
    }
    if (!isDiskError(reason)) throw reason;
    guard.noteError(reason as Error);
  };
  process.on('unhandledRejection', onRejection);
  return {
    guard,
    dispose: () => void process.off('unhandledRejection', onRejection),
    refuse: () => {
      const reason = guard.pausedReason();
      return reason === undefined ? undefined : { code: 'DISK_FULL', message: `ingest paused: ${reason} (${guard.freeBytes} bytes free)` };
    },
  };
}
