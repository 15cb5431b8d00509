/**
 * `lmj-edge node`: runs one data node of a cluster (docs/cluster.md) until SIGTERM/SIGINT.
 * Prints exactly `node <id> listening on H:P` on stdout once registered (HTTPS with
 * `--tls-cert`); logs go to stderr.
 */
import type { Command } from 'commander';
import { LmjError } from '../errors.js';
import { fail } from './output.js';
import { addTlsFlags, httpsOptionsOf, peerTlsOf, type TlsFlags } from './tls-flags.js';

interface NodeFlags extends TlsFlags {
  etcd?: string;
  nodeId: string;
  group?: string;
  data: string;
  httpHost: string;
  httpPort: string;
  ttl: string;
  durability: string;
  logLevel: string;
  join?: boolean;
}

/** Parses an integer flag in min..max; BAD_CONFIG otherwise. */
export function intFlag(key: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new LmjError('BAD_CONFIG', `invalid configuration: ${key}: expected ${min}..${max}, got ${raw}`, { details: { key } });
  return n;
}

/** Adds the `node` command. */
export function registerNode(program: Command): void {
  addTlsFlags(program.command('node'), 'source nodes this node pulls a moved range from')
    .description('run one data node of a cluster: registers in etcd, applies and answers only for its own partitions')
    .option('--etcd <urls>', 'comma-separated etcd client URLs (env LMJ_EDGE_ETCD)')
    .requiredOption('--node-id <id>', 'node id, 1..64 of A-Z a-z 0-9 _ -')
    .option('--group <id>', 'member of this router group: use the group\'s own table in etcd')
    .requiredOption('--data <dir>', 'data directory (devices/<id>, node/)')
    .option('--http-host <host>', 'bind address (non-loopback requires LMJ_EDGE_CLUSTER_TOKEN)', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port, 0 = any free port', '8091')
    .option('--ttl <seconds>', 'membership lease TTL', '10')
    .option('--durability <mode>', 'safe (fsync before answering, default) or fast', 'safe')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .option('--join', 'register as a balancing candidate: a router with --auto-balance may move ranges onto this node at once')
    .action(async (flags: NodeFlags) => {
      const { parseEtcdUrls, MEMBER_ID } = await import('../cluster/index.js');
      let port: number;
      let ttl: number;
      let etcd: string[];
      try {
        etcd = parseEtcdUrls(flags.etcd ?? process.env.LMJ_EDGE_ETCD ?? '');
        if (!MEMBER_ID.test(flags.nodeId)) throw new LmjError('BAD_CONFIG', 'invalid configuration: node-id: 1..64 of A-Z a-z 0-9 _ -', { details: { key: 'node-id' } });
        if (flags.group !== undefined && !MEMBER_ID.test(flags.group)) throw new LmjError('BAD_CONFIG', 'invalid configuration: group: 1..64 of A-Z a-z 0-9 _ -', { details: { key: 'group' } });
        port = intFlag('http-port', flags.httpPort, 0, 65535);
        ttl = intFlag('ttl', flags.ttl, 2, 3600);
        if (flags.durability !== 'safe' && flags.durability !== 'fast') throw new LmjError('BAD_CONFIG', 'invalid configuration: durability: safe or fast');
      } catch (err) {
        fail(err, 2);
      }
      const { startDataNode } = await import('../router/node/data-node.js');
      const { createLogger } = await import('../http/logger.js');
      const { resolve } = await import('node:path');
      const log = createLogger(flags.logLevel, 'lmj-edge-node');
      const token = process.env.LMJ_EDGE_CLUSTER_TOKEN;
      let node;
      let https;
      try {
        https = httpsOptionsOf(flags, 'node', log);
        node = await startDataNode({
          https,
          peerTls: peerTlsOf(flags, https),
          etcd,
          nodeId: flags.nodeId,
          ...(flags.group === undefined ? {} : { group: flags.group }),
          dataDir: resolve(flags.data),
          httpHost: flags.httpHost,
          httpPort: port,
          ttlSeconds: ttl,
          durability: flags.durability as 'safe' | 'fast',
          ...(flags.join === true ? { join: true } : {}),
          ...(token === undefined || token === '' ? {} : { clusterToken: token }),
          log,
        });
      } catch (err) {
        log.flush();
        fail(err, err instanceof LmjError && err.code === 'BAD_CONFIG' ? 2 : 1);
      }
      const n = node;
      const onSignal = (): void => {
        n.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      const host = n.http.host.includes(':') ? `[${n.http.host}]` : n.http.host;
      process.stdout.write(`node ${flags.nodeId} listening on ${host}:${n.http.port}\n`);
      // The registration above returned once the live record (with `candidate`) was in etcd.
      if (flags.join === true) log.info({ node: flags.nodeId }, 'joined the cluster as a balancing candidate');
      log.info({ tls: https !== undefined, clientCerts: https?.clientCerts ?? 'off' }, https === undefined ? 'node serves plain HTTP' : 'node serves HTTPS');
    });
}
