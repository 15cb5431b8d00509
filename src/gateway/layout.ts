/**
 * The gateway's own state inside a data directory: `DIR/gateway/` with the dead
 * letters, the device registry and the write-ahead journal, spelled here once.
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
