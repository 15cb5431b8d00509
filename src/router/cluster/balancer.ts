/**
/**
 * The balancer of a cluster router (`--auto-balance`, docs/cluster.md, The balancer):
 * the routers started with `--auto-balance` campaign in an etcd3 election of their own
 * (`/lmj/v1/election/balancer`), so exactly one of them balances, whichever router
 * drives the moves. While elected, every interval it does one round: nothing while a move
 * is active; else it weighs the owned ranges (the devices each owner lists in them),
 * applies the policy through the same planner as `cluster rebalance` with its
 * hysteresis (`decideBalance`), and requests at most one move, which the elected move
 * driver then runs. Under `heat`, a range too hot to move whole is split first and one
 * half moves.
 */
import type { Namespace } from 'etcd3';
import { Counter, Gauge, type Registry } from 'prom-client';
import { decideBalance, isTerminal, listMoves, requestMove, splitRange, weighRanges, type BalancePolicy, type RangeWeight, type TableView } from '../../cluster/index.js';
import { isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
import { RouterElection } from './election.js';
import type { HttpPools } from './http-pools.js';

/** Options of {@link Balancer}. */
export interface BalancerOptions {
  client: Namespace;
  view: TableView;
  http: HttpPools;
  clusterToken: string | undefined;
  policy: BalancePolicy;
  /** Seconds between two rounds. */
  intervalSeconds: number;
  /** This router's name in the election. */
  name: string;
  /** Election lease TTL, seconds: how long a dead balancer holds the election. */
  ttlSeconds: number;
  registry: Registry;
  log: Logger;
}

/** Campaigns among the `--auto-balance` routers and, while elected, plans and requests one move per round. */
export class Balancer {
  private readonly moves: Counter;
  private readonly splits: Counter;
  private readonly decisions: Counter<'decision'>;
  private readonly election: RouterElection;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: BalancerOptions) {
    const registers = [opts.registry];
    this.moves = new Counter({ name: 'lmj_router_balancer_moves_total', help: 'Moves the balancer of this router requested', registers });
    this.splits = new Counter({ name: 'lmj_router_balancer_splits_total', help: 'Ranges the balancer of this router split (heat policy) before moving one half', registers });
    this.decisions = new Counter({ name: 'lmj_router_balancer_decisions_total', help: 'Balancer rounds of this router by decision (move, split, balanced, busy, failed)', labelNames: ['decision'], registers });
    const leader = new Gauge({ name: 'lmj_router_balancer_leader', help: '1 while this router is the elected balancer', registers });
    leader.set(0);
    this.election = new RouterElection({
      client: opts.client,
      election: 'balancer',
      name: opts.name,
      ttlSeconds: opts.ttlSeconds,
      log: opts.log,
      lead: async () => {
        leader.set(1);
        try {
          await this.lead();
        } finally {
          leader.set(0);
        }
      },
    });
  }

  /** Rounds every interval while elected. */
  private async lead(): Promise<void> {
    while (this.election.isLeader()) {
      await this.round();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.intervalSeconds * 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Stops balancing and resigns (another `--auto-balance` router takes over at once). */
  async close(): Promise<void> {
    const closing = this.election.close();
    this.wake?.();
    await closing;
  }

  /** One round: nothing while a move is active, else at most one move requested. */
  private async round(): Promise<void> {
    try {
      if ((await listMoves(this.opts.client)).moves.some((m) => !isTerminal(m.move.phase))) {
        this.decisions.inc({ decision: 'busy' });
        return;
      }
      const live = this.opts.view.liveNodes();
      const decision = decideBalance(this.opts.policy, await this.weights(), live);
      if (decision.kind === 'balanced') {
        this.decisions.inc({ decision: 'balanced' });
        this.opts.log.debug({ policy: this.opts.policy, gap: decision.gap }, 'balancer: balanced');
        return;
      }
      const m = decision.move;
      if (decision.kind === 'split') {
        // The hot range is split first (both halves keep owner and epoch), then one half moves.
        const sp = decision.split;
        await splitRange(this.opts.client, sp);
        this.splits.inc();
        this.opts.log.info({ policy: this.opts.policy, range: `${sp.from}-${sp.to}`, at: sp.at, moving: `${m.from}-${m.to}`, weight: m.weight, gap: decision.gap }, 'balancer split a range');
      }
      const read = await requestMove(this.opts.client, { from: m.from, to: m.to, target: m.target });
      this.moves.inc();
      this.decisions.inc({ decision: decision.kind });
      this.opts.log.info({ policy: this.opts.policy, move: read.move.id, range: `${m.from}-${m.to}`, source: m.source, target: m.target, weight: m.weight, gap: decision.gap }, 'balancer requested a move');
    } catch (err) {
      // A node not answering, a refused request (the table changed meanwhile): try again next round.
      this.decisions.inc({ decision: 'failed' });
      this.opts.log.warn({ err: isLmjError(err) ? err.toJSON() : err }, 'balancer round failed');
    }
  }

  /** Every range owned by a live node, with the devices its owner holds in it. */
  private weights(): Promise<RangeWeight[]> {
    const headers: Record<string, string> = this.opts.clusterToken === undefined ? {} : { authorization: `Bearer ${this.opts.clusterToken}` };
    return weighRanges(this.opts.view.current().ranges, (id) => this.opts.view.liveNode(id), (origin, path) => this.opts.http.request(origin, 'GET', path, headers));
  }
}
