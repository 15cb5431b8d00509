/**
 * The balancer of a cluster router (`--auto-balance`, docs/cluster.md, The balancer): it
 * runs only inside the elected move driver (move-driver.ts), so exactly one router runs
 * it, and only while no move is active. Every interval it weighs the owned ranges (the
 * devices each owner lists in them), applies the policy through the same planner as
 * `cluster rebalance` with its hysteresis (`decideBalance`), and requests at most one
 * move, which the driver then runs. Under `heat`, a range too hot to move whole is
 * split first and one half moves.
 */
import type { Namespace } from 'etcd3';
import { Counter, type Registry } from 'prom-client';
import { decideBalance, isTerminal, listMoves, requestMove, splitRange, weighRanges, type BalancePolicy, type RangeWeight, type TableView } from '../../cluster/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
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
  registry: Registry;
  log: Logger;
}

/** Plans and requests one move per round; call {@link Balancer.round} while leading and idle. */
export class Balancer {
  private lastRound = 0;
  private readonly moves: Counter;
  private readonly splits: Counter;
  private readonly decisions: Counter<'decision'>;

  constructor(private readonly opts: BalancerOptions) {
    const registers = [opts.registry];
    this.moves = new Counter({ name: 'lmj_router_balancer_moves_total', help: 'Moves the balancer of this router requested', registers });
    this.splits = new Counter({ name: 'lmj_router_balancer_splits_total', help: 'Ranges the balancer of this router split (heat policy) before moving one half', registers });
    this.decisions = new Counter({ name: 'lmj_router_balancer_decisions_total', help: 'Balancer rounds of this router by decision (move, split, balanced, busy, failed)', labelNames: ['decision'], registers });
  }

  /** Milliseconds between two rounds. */
  get intervalMs(): number {
    return this.opts.intervalSeconds * 1000;
  }

  /** One round, at most once per interval: nothing while a move is active, else at most one move requested. */
  async round(): Promise<void> {
    if (Date.now() - this.lastRound < this.intervalMs) return;
    this.lastRound = Date.now();
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
