/**
 * The telemetry model over one device instance (docs/telemetry-model.md): apply
 * functions (run inside a WriteTxn), queries (inside any txn), and the exact-bytes
 * record export/apply used by sync and the router.
 */
export * from './types.js';
export { messageIdentity, IDENTITY_LEN } from './identity.js';
export { ROOT_PTR, ROOT, TS_MEMBER, ID_MEMBER, ELEMENT_LEN, encodeElement, decodeElement } from './model.js';
export { applyReadings, applyMeta } from './apply.js';
export { deviceSummary, latest, readings, findByIdentity, MAX_READINGS_LIMIT } from './query.js';
export { entityView } from './entity-view.js';
export { decodeValue } from './values.js';
export { exportRecords, applyRecords } from './records.js';
