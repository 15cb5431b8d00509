/**
 * The ingest pipeline: MQTT messages in, group-committed per-device LMJCore writes out.
 * See ./types.ts for the API and docs/telemetry-model.md for what is stored.
 */
import { LmjError } from '../../errors.js';
import type { IngestOptions, Ingestor } from './types.js';

export * from './types.js';
export type { DeviceListEntry, DeviceListPage, DeviceListQuery } from './registry.js';
export type { DeadLetter, DeadLetterPage, DeadLetterQuery } from '../dead-letters.js';

/** Opens the gateway state under `options.dataDir` and starts the pipeline. */
export async function createIngestor(options: IngestOptions): Promise<Ingestor> {
  void options;
  throw new LmjError('INVALID_PARAM', 'createIngestor: not implemented yet');
}
