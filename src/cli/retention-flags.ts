/** The retention flags of `lmj-edge start` (`retention.*` settings, docs/retention.md). */
import type { Command } from 'commander';

/** Adds `--retention-max-age`, `--retention-max-bytes`, `--retention-drop-unsynced`. */
export function addRetentionFlags(cmd: Command): Command {
  return cmd
    .option('--retention-max-age <seconds>', 'remove readings older than this (0 = keep, default)')
    .option('--retention-max-bytes <bytes>', "keep each device's data.mdb under this size (0 = no bound, default)")
    .option('--retention-drop-unsynced <bool>', 'also remove readings not yet synced upstream (default false)');
}
