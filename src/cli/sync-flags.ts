/**
 * The gateway's upstream-sync flags for `lmj-edge start` (owned by the sync layer,
 * see docs/sync.md). Flags win over `LMJ_EDGE_*` env vars; without `--upstream` (or
 * `LMJ_EDGE_UPSTREAM`) the gateway does not sync and the other settings are ignored.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { LmjError } from '../errors.js';
import { syncSettings } from '../sync/service.js';
import type { SyncOptions } from '../sync/types.js';

/** Adds `--upstream`, `--upstream-token`, `--gateway-id`, `--outbox-budget`, `--outbox-policy`. */
export function addSyncFlags(cmd: Command): Command {
  return cmd
    .option('--upstream <url>', 'sync to this cloud router, http(s)://host:port (env LMJ_EDGE_UPSTREAM)')
    .option('--upstream-token <token>', "this gateway's token on the router (env LMJ_EDGE_UPSTREAM_TOKEN, preferred over the flag)")
    .option('--gateway-id <id>', 'gateway id on the router (env LMJ_EDGE_GATEWAY_ID, default: host name)')
    .option('--outbox-budget <bytes>', 'most unsynced bytes kept for upload (default 268435456)')
    .option('--outbox-policy <policy>', 'at the budget: backpressure (stop acking, default) or drop-oldest');
}

function intOf(key: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new LmjError('BAD_CONFIG', `invalid configuration: ${key}: expected a positive integer`, { details: { key } });
  return Number(raw.trim());
}

/** The sync options from flags and env, or undefined when no upstream is set. Throws BAD_CONFIG. */
export function syncOptionsFrom(flags: Record<string, unknown>, env: Record<string, string | undefined>): SyncOptions | undefined {
  const pick = (flag: string, name: string): string | undefined => {
    const v = flags[flag] ?? env[name];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const upstream = pick('upstream', 'LMJ_EDGE_UPSTREAM');
  if (upstream === undefined) return undefined;
  const policy = pick('outboxPolicy', 'LMJ_EDGE_OUTBOX_POLICY');
  if (policy !== undefined && policy !== 'backpressure' && policy !== 'drop-oldest') {
    throw new LmjError('BAD_CONFIG', 'invalid configuration: outboxPolicy: expected backpressure or drop-oldest', { details: { key: 'outboxPolicy' } });
  }
  const token = pick('upstreamToken', 'LMJ_EDGE_UPSTREAM_TOKEN');
  const budget = intOf('outboxBudget', pick('outboxBudget', 'LMJ_EDGE_OUTBOX_BUDGET'));
  const options: SyncOptions = {
    upstream,
    gatewayId: pick('gatewayId', 'LMJ_EDGE_GATEWAY_ID') ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64),
    ...(token === undefined ? {} : { token }),
    ...(budget === undefined ? {} : { budgetBytes: budget }),
    ...(policy === undefined ? {} : { policy }),
  };
  // Validate now, so a bad setting exits with the configuration status before anything starts.
  syncSettings(options);
  return options;
}
