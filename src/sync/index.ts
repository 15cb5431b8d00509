/**
 * Upstream sync (docs/sync.md): the gateway's durable outbox and uplink worker, and the
 * batch wire format shared with the router.
 */
export * from './types.js';
export { startSync, syncSettings, type SyncService, type SyncContext } from './service.js';
export { registerSyncMetrics } from './metrics.js';
export { registerSyncRoutes } from './http-routes.js';
export { SYNC_PATH } from './uplink.js';
export {
  BATCH_VERSION,
  MAX_VALUE_LEN,
  MAX_BATCH_DEVICES,
  MAX_BATCH_RECORDS,
  decodeBatch,
  encodeBatch,
  parseAnswer,
  recordBytes,
  type Batch,
  type BatchAnswer,
  type DeviceAnswer,
  type DeviceRecords,
  type DecodeOptions,
} from './batch.js';
