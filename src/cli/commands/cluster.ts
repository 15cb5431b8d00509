/**
 * `lmj-edge cluster --etcd URLS [--group ID] init [--partitions-per-range N] | status | nodes | table | put-group | set-owner`
 * (and `move | moves | cancel | cleanup`, cluster-move.ts; `drain | rebalance`, cluster-balance.ts):
 * bootstraps and inspects the routing table and membership in etcd. `--etcd` may also
 * come from LMJ_EDGE_ETCD. Every subcommand takes `--json`. Exit codes: 0 ok, 1 an
 * error with its stable code on stderr (also: `status` of an invalid table), 2 bad flags.
 */
import { Option, type Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import type { ClusterStatus } from '../../cluster/index.js';
import { LmjError } from '../../errors.js';
import type { PeerTls } from '../../http/tls-listener.js';
import { fail, printJson, printTable } from '../output.js';
import { registerClusterBalance } from './cluster-balance.js';
import { registerClusterMoves } from './cluster-move.js';
import { registerClusterSplit } from './cluster-split.js';

interface JsonFlag {
  json?: boolean;
}

/** The cluster layer, loaded on use: etcd3 and gRPC add startup time every other command would pay. */
const cluster = (): Promise<typeof import('../../cluster/index.js')> => import('../../cluster/index.js');

async function connect(cmd: Command): Promise<Etcd3> {
  const { connectEtcd, parseEtcdUrls } = await cluster();
  const raw = (cmd.optsWithGlobals() as { etcd?: string }).etcd;
  let urls: string[];
  try {
    if (raw === undefined) throw new LmjError('BAD_CONFIG', 'invalid configuration: etcd: give --etcd URLS or LMJ_EDGE_ETCD', { details: { key: 'etcd' } });
    urls = parseEtcdUrls(raw);
  } catch (err) {
    fail(err, 2);
  }
  return connectEtcd(urls);
}

/** Runs `fn` with a client and closes it, so the process can exit; errors exit 1 with their code. */
async function withClient(cmd: Command, fn: (client: Etcd3) => Promise<void>): Promise<void> {
  const client = await connect(cmd);
  try {
    await fn(client);
  } catch (err) {
    client.close();
    fail(err, 1);
  }
  client.close();
}

/** `--upstream-ca` [`--tls-cert` `--tls-key`]: how HTTPS data nodes are verified and what this command presents to them; exits 2 on bad files. */
async function peerTls(cmd: Command): Promise<PeerTls | undefined> {
  const o = cmd.optsWithGlobals() as { upstreamCa?: string; tlsCert?: string; tlsKey?: string };
  const { loadCaBundle, loadTlsMaterial } = await import('../../http/tls-material.js');
  try {
    if (o.upstreamCa === undefined) {
      if (o.tlsCert !== undefined || o.tlsKey !== undefined) throw new LmjError('BAD_CONFIG', 'invalid configuration: tls-cert: a client certificate goes with --upstream-ca', { details: { key: 'tls-cert' } });
      return undefined;
    }
    if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new LmjError('BAD_CONFIG', 'invalid configuration: tls-cert: --tls-cert and --tls-key go together', { details: { key: 'tls-cert' } });
    const own = o.tlsCert === undefined || o.tlsKey === undefined ? undefined : loadTlsMaterial({ cert: o.tlsCert, key: o.tlsKey });
    return { ca: loadCaBundle(o.upstreamCa), ...(own === undefined ? {} : { cert: own.cert, key: own.key }) };
  } catch (err) {
    fail(err, 2);
  }
}

/** The `--group` of the command (checked), or undefined. */
function groupOf(cmd: Command): string | undefined {
  const g = (cmd.optsWithGlobals() as { group?: string }).group;
  if (g !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(g)) fail(new LmjError('BAD_CONFIG', 'invalid configuration: group: 1..64 of A-Z a-z 0-9 _ -', { details: { key: 'group' } }), 2);
  return g;
}

/** Same bounds as initTable (16..65536), checked before connecting so a typo exits 2. */
function partitionsPerRange(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 16 || n > 65536) {
    throw new LmjError('BAD_CONFIG', `invalid configuration: partitions-per-range: expected 16..65536, got ${raw}`, { details: { key: 'partitions-per-range' } });
  }
  return n;
}

function printStatus(s: ClusterStatus): void {
  const t = s.table;
  const rows: string[][] = [
    ['etcd', `${s.etcd.members.length} member(s), leader ${s.etcd.leader}, etcd ${s.etcd.version}, db ${s.etcd.dbSize} bytes`],
    [
      'table',
      t.initialized
        ? `version ${t.version} at revision ${t.revision}: ${t.ranges} ranges of ${t.partitionsPerRange} partitions, ${t.owned} owned, ${t.unassigned} unassigned`
        : 'error' in t
          ? `INVALID: ${t.error.code}: ${t.error.message}`
          : 'not initialized (run: lmj-edge cluster --etcd URLS init)',
    ],
    ['groups', t.initialized ? String(t.groups) : '-'],
    ['nodes', `${s.nodes.length} registered, ${s.nodes.filter((n) => n.live).length} live`],
  ];
  if (s.invalidNodeRecords + s.invalidLiveRecords > 0) rows.push(['invalid records', `${s.invalidNodeRecords} node, ${s.invalidLiveRecords} live`]);
  printTable(['', ''], rows);
}

/** Adds the `cluster` command. */
export function registerCluster(program: Command): void {
  const group = program
    .command('cluster')
    .description('bootstrap and inspect the cluster: routing table and membership in etcd')
    .addOption(new Option('--etcd <urls>', 'comma-separated etcd client URLs (http://host:port)').env('LMJ_EDGE_ETCD'))
    .option('--group <id>', 'init and table: the table of this router group (its routers and nodes run with --group)')
    .option('--upstream-ca <file>', 'cleanup, drain, rebalance: PEM CA that the certificates of HTTPS data nodes must chain to')
    .option('--tls-cert <file>', 'with --upstream-ca: client certificate for data nodes that require one (--tls-ca on the node)')
    .option('--tls-key <file>', 'the private key of --tls-cert');

  group
    .command('init')
    .description('create the routing table: 65536 partitions in ranges of N, all unowned at epoch 0 (resumes an interrupted init)')
    .option('--partitions-per-range <n>', 'partitions per range, 16..65536', '256')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag & { partitionsPerRange: string }, cmd: Command) => {
      let n: number;
      try {
        n = partitionsPerRange(flags.partitionsPerRange);
      } catch (err) {
        fail(err, 2);
      }
      await withClient(cmd, async (client) => {
        const c = await cluster();
        const meta = await c.initTable(c.scopeTo(client, groupOf(cmd)), n);
        if (flags.json === true) return printJson(meta);
        process.stdout.write(`initialized: ${Math.ceil(65536 / n)} ranges of ${n} partitions, table version ${meta.version}\n`);
      });
    });

  group
    .command('status')
    .description('etcd members and leader, table version and counts, nodes registered and live')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const s = await (await cluster()).readClusterStatus(client);
        if (flags.json === true) printJson(s);
        else printStatus(s);
        if ('error' in s.table) process.exitCode = 1;
      });
    });

  group
    .command('nodes')
    .description('data nodes: live or not, address, ranges owned, load figures')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const { nodes } = await (await cluster()).readClusterStatus(client);
        if (flags.json === true) return printJson({ nodes });
        printTable(
          ['NODE', 'LIVE', 'ADDRESS', 'RANGES', 'DEVICES', 'BYTES', 'WRITES/S', 'READS/S', 'UPDATED'],
          nodes.map((n) => [
            n.id,
            n.live ? 'yes' : 'no',
            n.address ?? '-',
            String(n.ranges),
            n.load === null ? '-' : `${n.load.devices}/${n.capacity?.devices ?? '?'}`,
            n.load === null ? '-' : `${n.load.bytes}/${n.capacity?.bytes ?? '?'}`,
            n.load === null ? '-' : n.load.writesPerSec.toFixed(1),
            n.load === null ? '-' : n.load.readsPerSec.toFixed(1),
            n.updatedAt === null ? '-' : new Date(n.updatedAt).toISOString(),
          ]),
        );
      });
    });

  group
    .command('table')
    .description('the routing table: ranges, owners, epochs')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const c = await cluster();
        const table = await c.readTable(c.scopeTo(client, groupOf(cmd)));
        if (table === null) throw new LmjError('TABLE_NOT_INITIALIZED', 'the routing table is not initialized: run lmj-edge cluster --etcd URLS init');
        if (flags.json === true) return printJson(table.snapshot());
        process.stdout.write(`table version ${table.version} at etcd revision ${table.revision}, ${table.meta.partitionsPerRange} partitions per range\n`);
        printTable(
          ['FROM', 'TO', 'OWNER', 'EPOCH'],
          table.ranges.map((r) => [String(r.from), String(r.to), r.owner === null ? '-' : `${r.owner.kind === 'group' ? 'group:' : ''}${r.owner.id}`, String(r.epoch)]),
        );
      });
    });

  group
    .command('put-group <id>')
    .description('create or update a router group (a range owner whose routers route within the group\'s own table)')
    .requiredOption('--routers <urls>', 'comma-separated http(s) URLs of the group\'s routers')
    .action(async (id: string, flags: { routers: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const g = await (await cluster()).putGroup(client, id, flags.routers.split(',').map((u) => u.trim()).filter((u) => u !== ''));
        process.stdout.write(`group ${g.id}: ${g.routers.join(', ')}\n`);
      });
    });

  group
    .command('set-owner <from> <owner>')
    .description('give the range starting at FROM to node:ID or group:ID (epoch + 1; moves no data)')
    .option('--expect-epoch <n>', 'only if the range is at this epoch')
    .action(async (from: string, owner: string, flags: { expectEpoch?: string }, cmd: Command) => {
      const m = /^(node|group):([A-Za-z0-9_-]{1,64})$/.exec(owner);
      if (m === null || !/^\d{1,5}$/.test(from) || (flags.expectEpoch !== undefined && !/^\d{1,15}$/.test(flags.expectEpoch))) {
        fail(new LmjError('BAD_CONFIG', 'invalid configuration: set-owner FROM node:ID|group:ID [--expect-epoch N]', { details: { key: 'owner' } }), 2);
      }
      await withClient(cmd, async (client) => {
        const c = await cluster();
        const change = await c.setOwner(c.scopeTo(client, groupOf(cmd)), Number(from), { kind: m[1] as 'node' | 'group', id: m[2] as string }, flags.expectEpoch === undefined ? undefined : Number(flags.expectEpoch));
        process.stdout.write(`range ${change.range.from}..${change.range.to}: ${owner} at epoch ${change.range.epoch}, table version ${change.version}\n`);
      });
    });

  registerClusterMoves(group, { withClient, peerTls });
  registerClusterBalance(group, { withClient, peerTls });
  registerClusterSplit(group, { withClient, peerTls });
}
