/**
 * The etcd client of every cluster process (the `etcd3` package over gRPC). Unary calls
 * get a deadline, so a call to an unreachable or hung etcd fails in bounded time as
 * CLUSTER_UNAVAILABLE instead of hanging; watch and keepalive streams get none (they
 * are meant to stay open, and etcd3 reconnects them).
 */
import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import { LmjError, isLmjError } from '../errors.js';
import { checkMemberId } from './keys.js';

/** Options of {@link connectEtcd}. */
export interface EtcdClientOptions {
  /** Deadline of each unary call, ms (default 3000). */
  callTimeoutMs?: number;
  /** Longest wait between watch reconnect attempts, ms (default 2000). */
  maxWatchBackoffMs?: number;
}

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Doubling from 100 ms up to `maxMs`: etcd3's default (30 s) would leave a cache stale for long after etcd returns. */
function cappedBackoff(maxMs: number, delay = 100): Backoff {
  return { duration: delay, next: () => cappedBackoff(maxMs, Math.min(maxMs, delay * 2)) };
}

/**
 * Parses `--etcd URLS`: comma-separated `http://host:port` client URLs. Throws BAD_CONFIG
 * for an empty list or anything that is not an http URL with a port.
 */
export function parseEtcdUrls(raw: string): string[] {
  const urls = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (urls.length === 0) throw new LmjError('BAD_CONFIG', 'invalid configuration: etcd: give at least one URL', { details: { key: 'etcd' } });
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new LmjError('BAD_CONFIG', `invalid configuration: etcd: ${u} is not a URL`, { details: { key: 'etcd' } });
    }
    if (parsed.protocol !== 'http:' || parsed.port === '' || (parsed.pathname !== '/' && parsed.pathname !== '')) {
      throw new LmjError('BAD_CONFIG', `invalid configuration: etcd: ${u}: expected http://host:port`, { details: { key: 'etcd' } });
    }
  }
  return urls;
}

/** Connects (lazily: the first call dials) to the etcd cluster at `urls`. */
export function connectEtcd(urls: readonly string[], opts: EtcdClientOptions = {}): Etcd3 {
  const timeout = opts.callTimeoutMs ?? 3000;
  return new Etcd3({
    hosts: [...urls],
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { watchBackoff: cappedBackoff(opts.maxWatchBackoffMs ?? 2000) },
  });
}

/** Where a router group's own table and membership live: outside `/lmj/v1/`, so the top-level view never sees them. */
export function groupScope(group: string): string {
  return `/lmj/group/${checkMemberId(group, 'group')}`;
}

/**
 * The client scoped to a router group (hierarchical routing, docs/cluster.md): the same
 * key layout (`/lmj/v1/…`) under {@link groupScope}, so a group's routers and nodes run
 * every cluster call unchanged on their own table. Without a group: the client itself.
 */
export function scopeTo(client: Etcd3, group: string | undefined): Namespace {
  return group === undefined ? client : client.namespace(groupScope(group));
}

/**
 * An etcd failure as CLUSTER_UNAVAILABLE (`what` names the operation); an LmjError passes
 * through unchanged. Used around every etcd call so callers match one code.
 */
export function clusterError(err: unknown, what: string): LmjError {
  if (isLmjError(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new LmjError('CLUSTER_UNAVAILABLE', `${what}: etcd call failed: ${msg}`, { cause: err, details: { operation: what } });
}

/** Runs an etcd operation, turning any etcd failure into CLUSTER_UNAVAILABLE. */
export async function etcdCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw clusterError(err, what);
  }
}
