/**
 * Applies a validated batch: each device's part in ONE write transaction on the
 * device's instance on the node the routing table names, idempotently (records
 * already present are skipped), answered once durable. The parts go to their
 * instances at once, so their commits (and fsyncs) overlap. One device failing (its
 * instance unavailable) does not affect the others: the answer says which.
 *
 * The answer waits for the device commits only, not for the directory's commit of the
 * device list: that is derived data (reconciled from the nodes after a crash, every
 * later batch rewrites the entry), and listing waits for queued entries anyway
 * (src/devices/read-facade.ts). Waiting for it put one more fsync, after all device
 * commits, into every batch, and, as it waited for every queued entry, also for the
 * entries of batches applied meanwhile.
 */
import { applyRecords } from '../core/telemetry/records.js';
import { readRoot } from '../core/telemetry/root.js';
import { LmjError, isLmjError } from '../errors.js';
import type { Batch, BatchAnswer, DeviceAnswer } from '../sync/batch.js';
import type { DataNodes } from './data-nodes.js';
import type { DeviceDirectory } from './directory.js';

/** Per-batch counts, for metrics. */
export interface ApplyCounts {
  applied: number;
  duplicates: number;
  failedDevices: number;
}

/** Applies `batch` from `gateway`; resolves with the answer once every device part is durable or failed. */
export async function applyBatch(
  nodes: DataNodes,
  directory: DeviceDirectory,
  gateway: string,
  batch: Batch,
): Promise<{ answer: BatchAnswer; counts: ApplyCounts }> {
  const counts: ApplyCounts = { applied: 0, duplicates: 0, failedDevices: 0 };
  const devices = await Promise.all(
    batch.devices.map(async ({ deviceId, records }): Promise<DeviceAnswer> => {
      const last = records[records.length - 1];
      try {
        if (last === undefined) throw new LmjError('BAD_BATCH', 'empty device part');
        const node = nodes.nodeOf(deviceId);
        const { result, entry } = await node.pool.use(
          deviceId,
          (store) =>
            store.writeAsync((txn) => {
              const result = applyRecords(txn, deviceId, records);
              const root = result.root ?? readRoot(txn);
              const entry = { id: deviceId, firstSeen: root?.firstSeen ?? 0, lastSeen: root?.lastSeen ?? 0, readings: root?.readingCount ?? 0 };
              return { result, entry };
            }),
          { create: true },
        );
        directory.note(entry, gateway);
        counts.applied += result.applied;
        counts.duplicates += result.duplicates;
        return { id: deviceId, cursor: last.element.toString('hex'), applied: result.applied, duplicates: result.duplicates };
      } catch (err) {
        counts.failedDevices++;
        const e = isLmjError(err) ? err : new LmjError('DEVICE_UNAVAILABLE', `apply failed: ${(err as Error).message}`, { cause: err });
        return { id: deviceId, error: { code: e.code, message: e.message } };
      }
    }),
  );
  return { answer: { seq: batch.seq, devices }, counts };
}
