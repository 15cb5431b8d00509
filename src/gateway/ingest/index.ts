/**
 * The ingest pipeline: MQTT messages in, group-committed per-device LMJCore writes out.
 * See ./types.ts for the API and docs/telemetry-model.md for what is stored.
 */
export * from './types.js';
export { createIngestor } from './ingestor.js';
export { DeadLetterStore } from '../dead-letters.js';
export type { DeadLetter, DeadLetterPage, DeadLetterQuery } from '../dead-letters.js';
