/**
 * `lmj-edge cluster --etcd URLS split --range FROM-TO --at PARTITION`: splits one range
 * into FROM..PARTITION-1 and PARTITION..TO in one etcd transaction; both halves keep the
 * range's owner and epoch (docs/cluster.md, Splits). Refusals change nothing and exit 1
 * with their code; bad flags exit 2.
 */
import type { Command } from 'commander';
import { LmjError } from '../../errors.js';
import { fail, printJson } from '../output.js';
import { parseRange, type ClusterCommandHelpers } from './cluster-move.js';

/** Adds `split` to the `cluster` command. */
export function registerClusterSplit(group: Command, h: ClusterCommandHelpers): void {
  group
    .command('split')
    .description('split a range in two at a partition; both halves keep its owner and epoch (no data moves)')
    .requiredOption('--range <from-to>', 'the range, by its exact boundaries (see `cluster table`)')
    .requiredOption('--at <partition>', 'the first partition of the upper half (FROM+1..TO)')
    .option('--json', 'print JSON')
    .action(async (flags: { range: string; at: string; json?: boolean }, cmd: Command) => {
      let range: { from: number; to: number };
      try {
        range = parseRange(flags.range);
        if (!/^\d{1,5}$/.test(flags.at) || Number(flags.at) > 65535) throw new LmjError('BAD_CONFIG', `invalid configuration: at: a partition 0..65535, got ${flags.at}`, { details: { key: 'at' } });
      } catch (err) {
        fail(err, 2);
      }
      await h.withClient(cmd, async (client) => {
        const s = await (await import('../../cluster/index.js')).splitRange(client, { ...range, at: Number(flags.at) });
        if (flags.json === true) return printJson(s);
        const owner = s.lower.owner === null ? 'nobody' : s.lower.owner.id;
        process.stdout.write(`range ${range.from}-${range.to} split into ${s.lower.from}-${s.lower.to} and ${s.upper.from}-${s.upper.to} (${owner}, epoch ${s.lower.epoch}), table version ${s.version}\n`);
      });
    });
}
