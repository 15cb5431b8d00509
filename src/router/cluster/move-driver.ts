/**
 * The move driver of a cluster router: every router campaigns in one etcd3 election
 * (`/lmj/v1/election/move-driver`, under a lease of `ttlSeconds`); the elected one runs
 * every move that has not ended from its recorded phase (MoveRunner), up to
 * `concurrency` at once (oldest first), all copying within one shared byte budget.
 * Moves never overlap: a range holds at most one move (its learner), and ranges do not.
 * When the leader dies its lease expires and another router is elected and resumes the
 * moves where their records stand. The balancer has an election of its own among the
 * routers with `--auto-balance` (balancer.ts). No consensus of our own: the election is
 * etcd's, and every phase change is a compare-and-swap on the move record.
 */
import type { Namespace } from 'etcd3';
import { Counter, type Registry } from 'prom-client';
import { isTerminal, listMoves, type TableView } from '../../cluster/index.js';
import { isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
import type { PeerTls } from '../../http/tls-listener.js';
import { RouterElection } from './election.js';
import type { HttpPools } from './http-pools.js';
import { cleanupMoves } from './move-cleanup.js';
import type { MoveHold } from './move-hold.js';
import { MoveRunner, NodeConflict } from './move-runner.js';
import { ByteThrottle } from './move-throttle.js';

/** Options of {@link MoveDriver}. */
export interface MoveDriverOptions {
  client: Namespace;
  view: TableView;
  http: HttpPools;
  clusterToken: string | undefined;
  /** Verifies nodes that advertise https when cleaning up (the router's --upstream-ca and certificate). */
  peerTls?: PeerTls | undefined;
  /** Copy bytes per second of all moves together (0 = unthrottled); a move with its own rate keeps to that. */
  rateBytesPerSec: number;
  /** Moves run at once (default 2). */
  concurrency?: number;
  /** This router's name in the election and in the move records. */
  name: string;
  /** Election lease TTL, seconds (default 5): how long a dead leader holds the moves. */
  ttlSeconds?: number;
  /** Delete what ended moves left behind this long after they ended, seconds (default: never; `cluster cleanup` does it). */
  cleanupDelaySeconds?: number;
  /** A testing aid: hold moves at the points its file names (move-hold.ts). */
  hold?: MoveHold;
  /** Where the driver's counters go (the router's /metrics). */
  registry?: Registry;
  log: Logger;
}

/** A move a data node refused with MOVE_CONFLICT (its table lags) runs again after this long, doubling per refusal in a row, ms. */
const CONFLICT_BACKOFF_MS = 100;
/** The longest such backoff, ms. */
const CONFLICT_BACKOFF_MAX_MS = 5000;
/** Any other failed step runs again after this long, ms. */
const RETRY_MS = 500;

/** Campaigns and, while elected, drives the moves. */
export class MoveDriver {
  private wake: (() => void) | null = null;
  private readonly offUpdate: () => void;
  private readonly election: RouterElection;
  private readonly throttle: ByteThrottle;
  private readonly nodeConflicts: Counter;
  /** Per move: refusals by a lagging node in a row (the backoff's exponent). */
  private readonly conflicts = new Map<string, number>();
  /** Moves whose refusal by a lagging node was logged (once per move, until its run ends). */
  private readonly conflictLogged = new Set<string>();

  constructor(private readonly opts: MoveDriverOptions) {
    this.throttle = new ByteThrottle(opts.rateBytesPerSec);
    this.nodeConflicts = new Counter({
      name: 'lmj_router_move_node_conflicts_total',
      help: 'Move steps a data node refused with MOVE_CONFLICT because its table did not show the move yet; each is run again after a backoff',
      registers: opts.registry === undefined ? [] : [opts.registry],
    });
    // Any change under /lmj/v1/ (a new move, a cancel) wakes an idle leader.
    this.offUpdate = opts.view.onUpdate(() => this.signal());
    this.election = new RouterElection({ client: opts.client, election: 'move-driver', name: opts.name, ttlSeconds: opts.ttlSeconds ?? 5, log: opts.log, lead: () => this.drive() });
  }

  /** True while this router is the elected driver. */
  isLeader(): boolean {
    return this.election.isLeader();
  }

  private async drive(): Promise<void> {
    const runner = new MoveRunner({ ...this.opts, throttle: this.throttle, driver: this.opts.name, leading: () => this.isLeader() });
    const limit = this.opts.concurrency ?? 2;
    const running = new Map<string, Promise<void>>();
    // A move whose step failed waits this long before it is run again (the record keeps its phase).
    const retryAt = new Map<string, number>();
    while (this.isLeader()) {
      let waitMs = 2000;
      try {
        // With every slot taken there is nothing to start: wait for a run to end.
        if (running.size < limit) {
          const active = (await listMoves(this.opts.client)).moves.filter((m) => !isTerminal(m.move.phase));
          const now = Date.now();
          for (const { move } of active) {
            if (running.size >= limit) break;
            if (running.has(move.id) || (retryAt.get(move.id) ?? 0) > now) continue;
            running.set(move.id, this.start(runner, move.id, retryAt, running));
          }
          if (active.length === 0) {
            await this.cleanupDue();
          } else if (retryAt.size > 0) waitMs = Math.max(10, Math.min(RETRY_MS, ...[...retryAt.values()].map((at) => at - now)));
        }
      } catch (err) {
        // etcd unavailable: try again shortly.
        this.opts.log.warn({ err: isLmjError(err) ? err.toJSON() : err }, 'listing the moves failed; retrying');
        waitMs = 500;
      }
      await this.sleepOrWake(waitMs);
    }
    await Promise.all(running.values());
  }

  /** Runs one move in the background; when it settles, its slot frees and the loop wakes. */
  private start(runner: MoveRunner, id: string, retryAt: Map<string, number>, running: Map<string, Promise<void>>): Promise<void> {
    return runner
      .run(id)
      .then(
        () => {
          retryAt.delete(id);
          this.conflicts.delete(id);
          this.conflictLogged.delete(id);
        },
        (err: unknown) => {
          if (err instanceof NodeConflict) {
            retryAt.set(id, Date.now() + this.conflictBackoff(id, err));
            return;
          }
          this.conflicts.delete(id);
          // A node unreachable, etcd unavailable: the record keeps its phase; run it again shortly.
          this.opts.log.warn({ move: id, err: isLmjError(err) ? err.toJSON() : err }, 'move step failed; retrying');
          retryAt.set(id, Date.now() + RETRY_MS);
        },
      )
      .finally(() => {
        running.delete(id);
        this.signal();
      });
  }

  /** Counts a lagging node's refusal, logs it once per move, and returns the backoff: 100 ms, doubling per refusal in a row, at most 5 s. */
  private conflictBackoff(id: string, err: NodeConflict): number {
    const n = this.conflicts.get(id) ?? 0;
    this.conflicts.set(id, n + 1);
    this.nodeConflicts.inc();
    if (!this.conflictLogged.has(id)) {
      this.conflictLogged.add(id);
      this.opts.log.warn({ move: id, node: err.node, err: err.toJSON() }, 'a node refused a move step (its table does not show the move yet); backing off');
    }
    return Math.min(CONFLICT_BACKOFF_MAX_MS, CONFLICT_BACKOFF_MS * 2 ** Math.min(n, 16));
  }

  private woken = false;

  /** Wakes the loop now, or makes its next wait return at once. */
  private signal(): void {
    this.woken = true;
    this.wake?.();
  }

  private async sleepOrWake(ms: number): Promise<void> {
    if (!this.woken) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.wake = null;
    this.woken = false;
  }

  private lastCleanup = 0;

  /** With a cleanup delay: at most every 5 s, deletes the copies of moves that ended more than the delay ago. */
  private async cleanupDue(): Promise<void> {
    const delay = this.opts.cleanupDelaySeconds;
    if (delay === undefined || Date.now() - this.lastCleanup < 5000) return;
    this.lastCleanup = Date.now();
    for (const r of await cleanupMoves(this.opts.client, {
      olderThanMs: delay * 1000,
      ...(this.opts.clusterToken === undefined ? {} : { clusterToken: this.opts.clusterToken }),
      ...(this.opts.peerTls === undefined ? {} : { tls: this.opts.peerTls }),
    })) {
      this.opts.log.info({ move: r.move, node: r.node, removed: r.removed, error: r.error }, 'move cleanup');
    }
  }

  /** Resigns (another router takes over at once) and waits for the current step. */
  async close(): Promise<void> {
    this.offUpdate();
    const closing = this.election.close();
    this.signal();
    await closing;
  }
}
