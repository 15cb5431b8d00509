/**
 * `lmj-edge cluster --etcd URLS drain NODE [--dry-run]` and `... rebalance [--dry-run]
 * [--policy count|bytes|heat]`: plan moves over the live load records and the ranges'
 * device counts (asked of each range's owner) and request them; the elected router runs
 * them one after another. Only balancing candidates receive ranges (live nodes that own
 * one, or that were started with `--join`). Under `heat` the plan starts with the split
 * the balancer would make (planBalance), made before the moves are requested.
 * `--dry-run` prints the plan only.
 */
import type { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import { Agent, request } from 'undici';
import type { BalancePlan, BalancePolicy, LiveNodeRecord, RangeWeight } from '../../cluster/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import { tlsFailure } from '../../http/tls-failure.js';
import type { PeerTls } from '../../http/tls-listener.js';
import { fail, printJson, printTable } from '../output.js';
import type { ClusterCommandHelpers } from './cluster-move.js';

const cluster = (): Promise<typeof import('../../cluster/index.js')> => import('../../cluster/index.js');

/** Every range owned by a live node, with the devices its owner holds in it. */
async function rangeWeights(client: Etcd3, tls: PeerTls | undefined): Promise<{ ranges: RangeWeight[]; live: LiveNodeRecord[] }> {
  const c = await cluster();
  const table = await c.readTable(client);
  if (table === null) throw new LmjError('TABLE_NOT_INITIALIZED', 'the routing table is not initialized: run lmj-edge cluster --etcd URLS init');
  const live = (await c.listLiveNodes(client)).nodes;
  const byId = new Map(live.map((n) => [n.id, n]));
  const token = process.env.LMJ_EDGE_CLUSTER_TOKEN;
  const headers: Record<string, string> = token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` };
  // Nodes that advertise https are verified with --upstream-ca.
  const agent = new Agent(tls === undefined ? {} : { connect: { ...tls } });
  try {
    const ranges = await c.weighRanges(table.ranges, (id) => byId.get(id), async (origin, path) => {
      const res = await request(`${origin}${path}`, { headers, dispatcher: agent }).catch((cause: unknown) => {
        const failed = tlsFailure(cause);
        if (failed === undefined) throw new LmjError('NODE_UNAVAILABLE', `cannot reach ${origin}: ${(cause as Error).message}`, { cause });
        throw new LmjError('PEER_TLS', `TLS handshake with ${origin} failed: ${failed} (check --upstream-ca)`, { cause });
      });
      return { status: res.statusCode, json: await res.body.json() };
    });
    return { ranges, live };
  } finally {
    await agent.close();
  }
}

/** Makes the plan's splits, then requests its moves; returns the move id or the refusal of each (a refused split: every move, unrequested). */
async function requestAll(client: Etcd3, plan: BalancePlan): Promise<{ from: number; move?: string; error?: string }[]> {
  const c = await cluster();
  const out: { from: number; move?: string; error?: string }[] = [];
  for (const sp of plan.splits) {
    try {
      await c.splitRange(client, sp);
    } catch (err) {
      if (!isLmjError(err)) throw err;
      return plan.moves.map((m) => ({ from: m.from, error: `split of ${sp.from}-${sp.to} at ${sp.at} refused: ${err.code}: ${err.message}` }));
    }
  }
  for (const m of plan.moves) {
    try {
      out.push({ from: m.from, move: (await c.requestMove(client, { from: m.from, to: m.to, target: m.target })).move.id });
    } catch (err) {
      if (!isLmjError(err)) throw err;
      out.push({ from: m.from, error: `${err.code}: ${err.message}` });
    }
  }
  return out;
}

function print(plan: BalancePlan, requested: { from: number; move?: string; error?: string }[] | null, json: boolean): void {
  if (json) return printJson({ ...plan, requested });
  for (const sp of plan.splits) process.stdout.write(`split ${sp.from}-${sp.to} at ${sp.at} into ${sp.from}-${sp.at - 1} and ${sp.at}-${sp.to}${requested === null ? ' (dry run)' : ''}\n`);
  printTable(
    ['RANGE', 'SOURCE', 'TARGET', 'WEIGHT', requested === null ? 'PLANNED' : 'MOVE'],
    plan.moves.map((m) => {
      const r = requested?.find((x) => x.from === m.from);
      return [`${m.from}-${m.to}`, m.source, m.target, String(Math.round(m.weight * 100) / 100), r === undefined ? 'dry run' : (r.move ?? r.error ?? '')];
    }),
  );
  process.stdout.write(`${plan.policy}: before ${JSON.stringify(plan.before)}, after ${JSON.stringify(plan.after)}\n`);
}

function policyOf(raw: string): BalancePolicy {
  if (raw !== 'count' && raw !== 'bytes' && raw !== 'heat') fail(new LmjError('BAD_CONFIG', 'invalid configuration: policy: count, bytes or heat', { details: { key: 'policy' } }), 2);
  return raw;
}

/** Adds `drain` and `rebalance` to the `cluster` command. */
export function registerClusterBalance(group: Command, h: ClusterCommandHelpers): void {
  group
    .command('drain <node>')
    .description('move every range of a live node to the live nodes with the fewest devices (one move per range)')
    .option('--dry-run', 'print the plan, request nothing')
    .option('--json', 'print JSON')
    .action(async (node: string, flags: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      await h.withClient(cmd, async (client) => {
        const { ranges, live } = await rangeWeights(client, await h.peerTls(cmd));
        if (!live.some((n) => n.id === node)) throw new LmjError('MOVE_BAD_TARGET', `node ${node} is not live: its data cannot be copied (start it again, then drain)`, { details: { node } });
        if (live.length < 2) throw new LmjError('MOVE_BAD_TARGET', `no other live node to drain ${node} to`, { details: { node } });
        const c = await cluster();
        const plan = c.planDrain(node, ranges, c.balanceCandidates(ranges, live));
        const requested = flags.dryRun === true ? null : await requestAll(client, plan);
        print(plan, requested, flags.json === true);
        if (requested?.some((r) => r.error !== undefined)) process.exitCode = 1;
      });
    });

  group
    .command('rebalance')
    .description('even out the live nodes by devices (count), bytes, or writes+reads/s (heat): moves ranges from the heaviest to the lightest node; under heat a range too hot to move whole is split first, as the balancer does')
    .option('--policy <p>', 'count, bytes or heat', 'count')
    .option('--dry-run', 'print the plan, request nothing')
    .option('--json', 'print JSON')
    .action(async (flags: { policy: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const policy = policyOf(flags.policy);
      await h.withClient(cmd, async (client) => {
        const { ranges, live } = await rangeWeights(client, await h.peerTls(cmd));
        const c = await cluster();
        // Under heat, the split the balancer would make comes first (planBalance shares its decision).
        const plan = c.planBalance(policy, ranges, c.balanceCandidates(ranges, live));
        const requested = flags.dryRun === true ? null : await requestAll(client, plan);
        print(plan, requested, flags.json === true);
        if (requested?.some((r) => r.error !== undefined)) process.exitCode = 1;
      });
    });
}
