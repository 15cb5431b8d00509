/**
 * `lmj-edge router`: runs the cloud router until SIGTERM/SIGINT. Prints exactly
 * `router listening on H:P` on stdout (HTTPS with `--tls-cert`); logs go to stderr.
 */
import type { Command } from 'commander';
import { LmjError } from '../errors.js';
import { fail } from './output.js';
import { addTlsFlags, httpsOptionsOf, peerTlsOf, type TlsFlags } from './tls-flags.js';

interface RouterFlags extends TlsFlags {
  data?: string;
  etcd?: string;
  group?: string;
  httpHost: string;
  httpPort: string;
  tokens?: string;
  apiTokens?: string;
  apiLoopbackOpen?: boolean;
  nodes?: string;
  durability: string;
  logLevel: string;
  moveRate?: string;
  moveDriverTtl?: string;
  moveConcurrency?: string;
  moveCleanupDelay?: string;
  autoBalance?: boolean;
  balancePolicy?: string;
  balanceInterval?: string;
}

function int(key: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new LmjError('BAD_CONFIG', `invalid configuration: ${key}: expected ${min}..${max}, got ${raw}`, { details: { key } });
  return n;
}

/** Adds the `router` command. */
export function registerRouter(program: Command): void {
  addTlsFlags(program.command('router'), 'data nodes (with --etcd)')
    .description('run the cloud router: sync endpoint for gateways, data nodes, query API over all devices')
    .option('--data <dir>', 'data directory of the single-process router (routing table, directory, nodes/<node>/devices/<id>)')
    .option('--group <id>', 'with --etcd: a router of this group, routing with the group\'s own table')
    .option('--etcd <urls>', 'cluster router: route with the etcd table to data nodes (`lmj-edge node`) instead of local nodes (env LMJ_EDGE_ETCD)')
    .option('--http-host <host>', 'bind address (non-loopback requires --tokens and --api-tokens)', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port, 0 = any free port', '8081')
    .option('--tokens <file>', 'gateway upload tokens, JSON {"gateways": {"<gateway id>": "sha256:<hex>"}} (lmj-edge token gateway; plain tokens are hashed in place at start)')
    .option('--api-tokens <file>', 'API tokens of the query API (lmj-edge token create; env LMJ_EDGE_API_TOKENS)')
    .option('--api-loopback-open', 'with --api-tokens on a loopback --http-host: answer queries without a token anyway')
    .option('--nodes <n>', 'data nodes when the routing table is created (default 1; an existing table wins)')
    .option('--durability <mode>', 'safe (fsync before answering, default) or fast', 'safe')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .option('--move-rate <bytes/s>', 'with --etcd: copy rate of the range moves this router drives when elected (default 20971520; 0 = unthrottled)')
    .option('--move-driver-ttl <s>', 'with --etcd: lease TTL of the move driver election (and of the balancer election with --auto-balance), seconds (default 5)')
    .option('--move-concurrency <n>', 'with --etcd: moves this router runs at once when elected, sharing --move-rate (default 2)')
    .option('--move-cleanup-delay <s>', 'with --etcd: when elected, delete the copies ended moves left behind this many seconds after they ended (default: only `cluster cleanup`)')
    .option('--auto-balance', 'with --etcd: campaign for the balancer among the routers with this flag; when elected, request one move at a time from the heaviest to the lightest candidate node')
    .option('--balance-policy <p>', 'with --auto-balance: count, bytes or heat (default count)')
    .option('--balance-interval <s>', 'with --auto-balance: seconds between two balancer rounds (default 30)')
    .action(async (flags: RouterFlags) => {
      let port: number;
      let moveRate: number | undefined;
      let moveTtl: number | undefined;
      let moveConcurrency: number | undefined;
      let cleanupDelay: number | undefined;
      let nodes: number | undefined;
      let autoBalance: { policy: 'count' | 'bytes' | 'heat'; intervalSeconds: number } | undefined;
      const etcdRaw = flags.etcd ?? process.env.LMJ_EDGE_ETCD;
      let etcd: string[] | undefined;
      try {
        port = int('http-port', flags.httpPort, 0, 65535);
        if (etcdRaw !== undefined) {
          const { parseEtcdUrls } = await import('../cluster/index.js');
          etcd = parseEtcdUrls(etcdRaw);
          if (flags.data !== undefined || flags.nodes !== undefined) throw new LmjError('BAD_CONFIG', 'invalid configuration: --data and --nodes belong to the single-process router, not --etcd', { details: { key: 'etcd' } });
          const { MEMBER_ID } = await import('../cluster/index.js');
          if (flags.group !== undefined && !MEMBER_ID.test(flags.group)) throw new LmjError('BAD_CONFIG', 'invalid configuration: group: 1..64 of A-Z a-z 0-9 _ -', { details: { key: 'group' } });
        } else if (flags.data === undefined) {
          throw new LmjError('BAD_CONFIG', 'invalid configuration: give --data DIR (single-process router) or --etcd URLS (cluster router)', { details: { key: 'data' } });
        }
        nodes = flags.nodes === undefined ? undefined : int('nodes', flags.nodes, 1, 256);
        moveRate = flags.moveRate === undefined ? undefined : int('move-rate', flags.moveRate, 0, 10 * 1024 ** 3);
        moveTtl = flags.moveDriverTtl === undefined ? undefined : int('move-driver-ttl', flags.moveDriverTtl, 2, 600);
        moveConcurrency = flags.moveConcurrency === undefined ? undefined : int('move-concurrency', flags.moveConcurrency, 1, 64);
        cleanupDelay = flags.moveCleanupDelay === undefined ? undefined : int('move-cleanup-delay', flags.moveCleanupDelay, 0, 365 * 86400);
        if (flags.durability !== 'safe' && flags.durability !== 'fast') throw new LmjError('BAD_CONFIG', 'invalid configuration: durability: safe or fast');
        autoBalance = autoBalanceOf(flags, etcdRaw !== undefined);
        if (flags.upstreamCa !== undefined && etcdRaw === undefined) throw new LmjError('BAD_CONFIG', 'invalid configuration: upstream-ca: the single-process router has no remote data nodes; --upstream-ca belongs to --etcd', { details: { key: 'upstream-ca' } });
      } catch (err) {
        fail(err, 2);
      }
      const { startRouter } = await import('../router/index.js');
      const { createLogger } = await import('../http/logger.js');
      const { resolve } = await import('node:path');
      const log = createLogger(flags.logLevel, 'lmj-edge-router');
      let router: { http: { host: string; port: number }; stop(): Promise<void> };
      const apiTokensFile = flags.apiTokens ?? process.env.LMJ_EDGE_API_TOKENS;
      const failuresRaw = process.env.LMJ_EDGE_API_AUTH_FAILURES_PER_MINUTE;
      let failures: number | undefined;
      try {
        failures = failuresRaw === undefined || failuresRaw === '' ? undefined : int('LMJ_EDGE_API_AUTH_FAILURES_PER_MINUTE', failuresRaw, 1, 1_000_000);
      } catch (err) {
        fail(err, 2);
      }
      const api = {
        ...(apiTokensFile === undefined || apiTokensFile === '' ? {} : { apiTokensFile: resolve(apiTokensFile) }),
        ...(flags.apiLoopbackOpen === true ? { apiLoopbackOpen: true } : {}),
        ...(failures === undefined ? {} : { authFailuresPerMinute: failures }),
      };
      let https;
      try {
        https = httpsOptionsOf(flags, 'router', log);
        const peerTls = peerTlsOf(flags, https);
        const token = process.env.LMJ_EDGE_CLUSTER_TOKEN;
        router = etcd !== undefined
          ? await (await import('../router/cluster/cluster-router.js')).startClusterRouter({
            etcd,
            ...(flags.group === undefined ? {} : { group: flags.group }),
            httpHost: flags.httpHost,
            httpPort: port,
            ...(flags.tokens === undefined ? {} : { tokensFile: resolve(flags.tokens) }),
            ...(token === undefined || token === '' ? {} : { clusterToken: token }),
            ...api,
            ...(moveRate === undefined ? {} : { moveRateBytesPerSec: moveRate }),
            ...(moveTtl === undefined ? {} : { moveDriverTtlSeconds: moveTtl }),
            ...(moveConcurrency === undefined ? {} : { moveConcurrency }),
            ...(cleanupDelay === undefined ? {} : { moveCleanupDelaySeconds: cleanupDelay }),
            // A testing aid (docs/cluster.md, Testing a move's failure cases), off unless set.
            ...(process.env.LMJ_EDGE_TEST_MOVE_HOLD ? { moveHoldFile: resolve(process.env.LMJ_EDGE_TEST_MOVE_HOLD) } : {}),
            ...(autoBalance === undefined ? {} : { autoBalance }),
            https,
            peerTls,
            log,
          })
          : await startRouter({
          dataDir: resolve(flags.data ?? '.'),
          httpHost: flags.httpHost,
          httpPort: port,
          ...(flags.tokens === undefined ? {} : { tokensFile: resolve(flags.tokens) }),
          ...(nodes === undefined ? {} : { nodes }),
          durability: flags.durability as 'safe' | 'fast',
          ...api,
          https,
          log,
        });
      } catch (err) {
        log.flush();
        fail(err, isBadConfig(err) ? 2 : 1);
      }
      const r = router;
      const onSignal = (): void => {
        r.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      const host = r.http.host.includes(':') ? `[${r.http.host}]` : r.http.host;
      process.stdout.write(`router listening on ${host}:${r.http.port}\n`);
      log.info({ tls: https !== undefined, clientCerts: https?.clientCerts ?? 'off', upstreamCa: flags.upstreamCa ?? null }, https === undefined ? 'router serves plain HTTP' : 'router serves HTTPS');
      if (autoBalance !== undefined) log.info(autoBalance, 'auto-balance on: this router balances while it is the elected balancer');
    });
}

/** `--auto-balance [--balance-policy P] [--balance-interval S]`; BAD_CONFIG without --etcd or with a balance flag alone. */
function autoBalanceOf(flags: RouterFlags, cluster: boolean): { policy: 'count' | 'bytes' | 'heat'; intervalSeconds: number } | undefined {
  if (flags.autoBalance !== true) {
    if (flags.balancePolicy !== undefined || flags.balanceInterval !== undefined) throw new LmjError('BAD_CONFIG', 'invalid configuration: --balance-policy and --balance-interval need --auto-balance', { details: { key: 'auto-balance' } });
    return undefined;
  }
  if (!cluster) throw new LmjError('BAD_CONFIG', 'invalid configuration: --auto-balance belongs to the cluster router (--etcd)', { details: { key: 'auto-balance' } });
  const policy = flags.balancePolicy ?? 'count';
  if (policy !== 'count' && policy !== 'bytes' && policy !== 'heat') throw new LmjError('BAD_CONFIG', 'invalid configuration: balance-policy: count, bytes or heat', { details: { key: 'balance-policy' } });
  return { policy, intervalSeconds: flags.balanceInterval === undefined ? 30 : int('balance-interval', flags.balanceInterval, 1, 86400) };
}

function isBadConfig(err: unknown): boolean {
  return err instanceof LmjError && err.code === 'BAD_CONFIG';
}
