/**
 * The gateway's upstream-sync flags for `lmj-edge start` (see docs/sync.md). They are
 * `sync.*` settings of the configuration table (src/gateway/config/schema.ts): flags
 * win over `LMJ_EDGE_*` env vars, which win over the config file. Without an upstream
 * the gateway does not sync and the other sync settings are ignored.
 */
import type { Command } from 'commander';

/** Adds `--upstream`, `--upstream-token`, `--gateway-id`, `--outbox-budget`, `--outbox-policy`, `--upstream-ca`. */
export function addSyncFlags(cmd: Command): Command {
  return cmd
    .option('--upstream <urls>', 'sync to this cloud router, http(s)://host:port; several comma-separated routers fail over in order (env LMJ_EDGE_UPSTREAM)')
    .option('--upstream-token <token>', "this gateway's token on the router (env LMJ_EDGE_UPSTREAM_TOKEN, preferred over the flag)")
    .option('--gateway-id <id>', 'gateway id on the router (env LMJ_EDGE_GATEWAY_ID, default: host name)')
    .option('--outbox-budget <bytes>', 'most unsynced bytes kept for upload (default 268435456)')
    .option('--outbox-policy <policy>', 'at the budget: backpressure (stop acking, default) or drop-oldest')
    .option('--upstream-ca <file>', 'PEM CA file the https:// router certificates must chain to (default: the public CAs)');
}
