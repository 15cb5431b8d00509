/**
 * Public API of lmj-edge (package entry `dist/src/index.js`): what the simulator,
 * tools and embedding applications use. Internals stay behind these names.
 */

// Errors: the one registry.
export { ERROR_CODES, LMJCORE_ERRNO, LmjError, codeForErrno, fromStatus, isLmjError } from './errors.js';
export type { ErrorCode, LmjErrorOptions } from './errors.js';

// Codec: pointers and flattening (native or portable).
export { codecInfo, getCodec, loadCodec, portableCodec } from './codec/index.js';
export type { Codec, CodecInfo, CodecRequest, EntityType, Flattened, FlattenLimits, PayloadFormat } from './codec/index.js';

// Engine: one LMJCore instance over LMDB.
export { openStore, ROOT_PTR } from './core/index.js';
export type { Durability, LmjStore, OpenOptions, ReadTxn, WriteTxn, GhostMember } from './core/index.js';

// Telemetry model: identity, queries, records for sync.
export {
  applyRecords,
  deviceSummary,
  entityView,
  exportRecords,
  findByIdentity,
  latest,
  messageIdentity,
  readings,
} from './core/telemetry/index.js';
export type {
  DeviceSummary,
  EntityView,
  JsonValue,
  LatestView,
  ReadingRecord,
  ReadingsPage,
  ReadingsQuery,
  ReadingView,
} from './core/telemetry/index.js';

// Gateway: ingest, device ids and topics, the daemon and its parts.
export { createIngestor } from './gateway/ingest/index.js';
export type { IngestHooks, IngestOptions, IngestResult, Ingestor, InboundMessage } from './gateway/ingest/index.js';
export { assertDeviceId, isValidDeviceId } from './devices/device-id.js';
export { createTopicParser, type TopicParser, type TopicTemplates } from './gateway/topics.js';
export { defaultConfig, loadConfig, type GatewayConfig } from './gateway/config/index.js';
export { startDaemon, type Daemon } from './gateway/daemon.js';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './gateway/broker/embedded.js';
export {
  startExternalSubscriber,
  type ExternalSubscriber,
  type ExternalSubscriberOptions,
} from './gateway/broker/external.js';
export { hashPasswordLine, UserTable } from './gateway/broker/users.js';
export { buildHttpApi, type HttpApiOptions } from './http/server.js';
export { buildGatewayHttpApi, type GatewayHttpApiOptions } from './gateway/http/api.js';
export { GatewayMetrics } from './gateway/metrics.js';
