/**
 * The gateway's own state inside a data directory: `DIR/gateway/` with the dead
 * letters, the device registry, the write-ahead journal, the in-use record of the
 * device instances and the quarantine markers, spelled here once.
 */
import { join } from 'node:path';

/** `DIR/gateway`. */
export function gatewayDir(dataDir: string): string {
  return join(dataDir, 'gateway');
}

/** `DIR/gateway/deadletters`. */
export function deadLettersDir(dataDir: string): string {
  return join(gatewayDir(dataDir), 'deadletters');
}

/** `DIR/gateway/registry`. */
export function registryDir(dataDir: string): string {
  return join(gatewayDir(dataDir), 'registry');
}

/** `DIR/gateway/journal`: segments and checkpoints (docs/journal.md). */
export function journalDir(dataDir: string): string {
  return join(gatewayDir(dataDir), 'journal');
}

/** `DIR/gateway/in-use`: which device instances are mapped (src/devices/pool/in-use-log.ts). */
export function inUseFile(dataDir: string): string {
  return join(gatewayDir(dataDir), 'in-use');
}

/** `DIR/gateway/quarantined`: one marker per quarantined device (src/devices/pool/quarantine.ts). */
export function quarantinedDir(dataDir: string): string {
  return join(gatewayDir(dataDir), 'quarantined');
}
