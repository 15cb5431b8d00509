/**
 * The sync part of the daemon configuration (`sync.*` in the settings table): turning it
 * into the sync layer's options, and the sync layer's own checks reported against the
 * configuration keys.
 */
import { hostname } from 'node:os';
import { isLmjError } from '../../errors.js';
import { syncSettings } from '../../sync/service.js';
import type { SyncOptions } from '../../sync/types.js';
import type { GatewayConfig } from './schema.js';

/** The sync layer's setting names → the configuration keys they come from. */
const KEY_OF: Record<string, string> = {
  upstream: 'sync.upstream',
  upstreamToken: 'sync.token',
  gatewayId: 'sync.gatewayId',
  outboxBudget: 'sync.outboxBudget',
  outboxPolicy: 'sync.outboxPolicy',
  upstreamCa: 'sync.upstreamCa',
};

/** The host name as a gateway id (1..64 of `A-Z a-z 0-9 . _ -`). */
function defaultGatewayId(): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
}

/** The sync options of a configuration, or undefined when no upstream is set (no sync). */
export function syncOptionsOf(cfg: GatewayConfig): SyncOptions | undefined {
  const s = cfg.sync;
  if (s.upstream === undefined) return undefined;
  return {
    upstream: s.upstream,
    gatewayId: s.gatewayId ?? defaultGatewayId(),
    ...(s.token === undefined ? {} : { token: s.token }),
    budgetBytes: s.outboxBudget,
    policy: s.outboxPolicy,
    ...(s.upstreamCa === undefined ? {} : { upstreamCa: s.upstreamCa }),
  };
}

/** Why the sync settings cannot be used (key and reason), or undefined when they can (or sync is off). */
export function syncProblem(cfg: GatewayConfig): { key: string; reason: string } | undefined {
  const options = syncOptionsOf(cfg);
  if (options === undefined) return undefined;
  try {
    syncSettings(options);
    return undefined;
  } catch (err) {
    if (!isLmjError(err, 'BAD_CONFIG')) throw err;
    const name = String(err.details?.key ?? '');
    return { key: KEY_OF[name] ?? `sync.${name}`, reason: String(err.details?.reason ?? err.message) };
  }
}
