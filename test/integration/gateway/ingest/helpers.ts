/** Shared helpers of the ingest integration tests. */
import { readdirSync } from 'node:fs';
import { encode } from 'cbor-x';
import { createIngestor, type IngestOptions, type Ingestor } from '../../../../src/gateway/ingest/index.js';

/** A JSON payload buffer. */
export function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

/** A CBOR payload buffer. */
export function cbor(v: unknown): Buffer {
  return Buffer.from(encode(v));
}

/** Telemetry topic of a device (default template). */
export function tel(id: string): string {
  return `devices/${id}/telemetry`;
}

/** An ingestor with test-friendly defaults (fast durability unless given). */
export async function ingestor(dataDir: string, options: Partial<IngestOptions> = {}): Promise<Ingestor> {
  return createIngestor({ dataDir, durability: 'fast', ...options });
}

/** Number of open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
