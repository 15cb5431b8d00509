/**
 * `lmj-edge cluster --etcd URLS move --range FROM-TO --to NODE | moves | cancel MOVE | cleanup`:
 * requests, lists, cancels range moves and deletes the sources' copies of finished ones
 * (docs/cluster.md, Moves). A move is driven by the elected cluster router; these
 * commands only write and read the records in etcd (cleanup also calls the nodes).
 * Refusals change nothing and exit 1 with their code.
 */
import type { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import type { PeerTls } from '../../http/tls-listener.js';
import type { MoveRecord } from '../../cluster/index.js';
import { LmjError } from '../../errors.js';
import { fail, printJson, printTable } from '../output.js';

/** What the cluster command shares with these subcommands. */
export interface ClusterCommandHelpers {
  withClient(cmd: Command, fn: (client: Etcd3) => Promise<void>): Promise<void>;
  /** `--upstream-ca` [`--tls-cert` `--tls-key`] of the cluster command, for calls to HTTPS data nodes. */
  peerTls(cmd: Command): Promise<PeerTls | undefined>;
}

const cluster = (): Promise<typeof import('../../cluster/index.js')> => import('../../cluster/index.js');

/** Parses `FROM-TO` (partitions, FROM ≤ TO); BAD_CONFIG otherwise. */
export function parseRange(raw: string): { from: number; to: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(raw);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (m === null || from > 65535 || to > 65535 || to < from) throw new LmjError('BAD_CONFIG', `invalid configuration: range: expected FROM-TO (partitions 0..65535, FROM ≤ TO), got ${raw}`, { details: { key: 'range' } });
  return { from, to };
}

function eta(m: MoveRecord): string {
  const p = m.progress;
  if (m.phase !== 'copying' && m.phase !== 'catching-up') return '-';
  if (p.devicesCopied === 0 || p.devicesTotal === 0) return '?';
  const secs = ((Date.now() - m.createdAt) / 1000 / p.devicesCopied) * (p.devicesTotal - p.devicesCopied);
  return `${Math.max(0, Math.round(secs))}s`;
}

function bar(m: MoveRecord, width = 20): string {
  const p = m.progress;
  const frac = m.phase === 'done' || m.phase === 'flipped' ? 1 : p.devicesTotal === 0 ? 0 : p.devicesCopied / p.devicesTotal;
  const n = Math.round(frac * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

function rows(moves: readonly MoveRecord[], tty: boolean): string[][] {
  return moves.map((m) => {
    const row = [
      m.id,
      `${m.range.from}-${m.range.to}`,
      m.source,
      m.target,
      m.phase,
      `${m.progress.devicesCopied}/${m.progress.devicesTotal}`,
      String(m.progress.bytes),
      String(m.progress.readings),
      eta(m),
      new Date(m.updatedAt).toISOString(),
      m.error === null ? '' : `${m.error.code}: ${m.error.message}`.slice(0, 120),
    ];
    if (tty) row.splice(6, 0, bar(m));
    return row;
  });
}

async function waitForEnd(client: Etcd3, id: string, timeoutMs: number): Promise<MoveRecord> {
  const c = await cluster();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const { move } = await c.readMove(client, id);
    if (move.phase !== last) process.stderr.write(`move ${id}: ${move.phase}\n`);
    last = move.phase;
    if (c.isTerminal(move.phase)) return move;
    if (Date.now() > deadline) throw new LmjError('MOVE_FAILED', `move ${id} still ${move.phase} after ${timeoutMs} ms`, { details: { move: id } });
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Adds `move`, `moves`, `cancel` and `cleanup` to the `cluster` command. */
export function registerClusterMoves(group: Command, h: ClusterCommandHelpers): void {
  group
    .command('move')
    .description('move a range (its data and its ownership) to another live data node; the elected router drives it')
    .requiredOption('--range <from-to>', 'the range, by its exact boundaries (see `cluster table`)')
    .requiredOption('--to <node>', 'the live data node that takes it')
    .option('--rate <bytes/s>', 'copy rate of this move (default: the driving router\'s --move-rate; 0 = unthrottled)')
    .option('--wait', 'wait until the move has ended; exit 1 unless it is done')
    .option('--timeout <s>', 'with --wait: give up after this many seconds', '600')
    .option('--json', 'print JSON')
    .action(async (flags: { range: string; to: string; rate?: string; wait?: boolean; timeout: string; json?: boolean }, cmd: Command) => {
      let range: { from: number; to: number };
      let rate: number | undefined;
      try {
        range = parseRange(flags.range);
        if (flags.rate !== undefined && !/^\d{1,12}$/.test(flags.rate)) throw new LmjError('BAD_CONFIG', 'invalid configuration: rate: bytes per second, an integer', { details: { key: 'rate' } });
        rate = flags.rate === undefined ? undefined : Number(flags.rate);
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(flags.to)) throw new LmjError('BAD_CONFIG', 'invalid configuration: to: a node id', { details: { key: 'to' } });
      } catch (err) {
        fail(err, 2);
      }
      await h.withClient(cmd, async (client) => {
        const { move } = await (await cluster()).requestMove(client, { ...range, target: flags.to, ...(rate === undefined ? {} : { rateBytesPerSec: rate }) });
        if (flags.json === true && flags.wait !== true) return printJson(move);
        if (flags.json !== true) process.stdout.write(`move ${move.id}: range ${move.range.from}-${move.range.to} from ${move.source} to ${move.target}, requested\n`);
        if (flags.wait !== true) return;
        const end = await waitForEnd(client, move.id, Number(flags.timeout) * 1000);
        if (flags.json === true) printJson(end);
        else process.stdout.write(`move ${end.id}: ${end.phase}${end.error === null ? '' : ` (${end.error.code}: ${end.error.message})`}\n`);
        if (end.phase !== 'done') process.exitCode = 1;
      });
    });

  group
    .command('moves')
    .description('the moves and their progress: phase, devices copied, bytes, readings, ETA (a progress bar on a terminal)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await h.withClient(cmd, async (client) => {
        const { moves, invalid } = await (await cluster()).listMoves(client);
        if (flags.json === true) return printJson({ moves: moves.map((m) => m.move), invalid });
        const tty = process.stdout.isTTY === true;
        const header = ['MOVE', 'RANGE', 'SOURCE', 'TARGET', 'PHASE', 'DEVICES', 'BYTES', 'READINGS', 'ETA', 'UPDATED', 'ERROR'];
        if (tty) header.splice(6, 0, 'PROGRESS');
        printTable(header, rows(moves.map((m) => m.move), tty));
        if (invalid > 0) process.stderr.write(`${invalid} invalid move record(s) skipped\n`);
      });
    });

  group
    .command('cancel <move>')
    .description('cancel a move before its owner flips: the learner goes, a fence comes down, the source stays the owner')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await h.withClient(cmd, async (client) => {
        const c = await cluster();
        const m = await c.abortMove(client, await c.readMove(client, id), 'cancelled', null);
        process.stdout.write(`move ${m.move.id}: cancelled (range ${m.move.range.from}-${m.move.range.to} stays on ${m.move.source})\n`);
      });
    });

  group
    .command('cleanup')
    .description('delete what ended moves left behind: the source copy after done, the target copy after a cancel or roll-back')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await h.withClient(cmd, async (client) => {
        const token = process.env.LMJ_EDGE_CLUSTER_TOKEN;
        const { cleanupMoves } = await import('../../router/cluster/move-cleanup.js');
        const tls = await h.peerTls(cmd);
        const done = await cleanupMoves(client, { ...(token === undefined || token === '' ? {} : { clusterToken: token }), ...(tls === undefined ? {} : { tls }) });
        if (flags.json === true) return printJson({ cleaned: done });
        if (done.length === 0) process.stdout.write('nothing to clean up\n');
        for (const d of done) process.stdout.write(d.error === undefined ? `move ${d.move}: removed ${d.removed} device(s) from ${d.node}\n` : `move ${d.move}: ${d.node}: ${d.error}\n`);
        if (done.some((d) => d.error !== undefined)) process.exitCode = 1;
      });
    });
}
