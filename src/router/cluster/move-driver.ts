/**
 * The move driver of a cluster router: every router campaigns in one etcd3 election
 * (`/lmj/v1/election/move-driver`, under a lease of `ttlSeconds`); the elected one runs
 * every move that has not ended, one at a time, from its recorded phase (MoveRunner).
 * When the leader dies its lease expires and another router is elected and resumes the
 * moves where their records stand. The balancer has an election of its own among the
 * routers with `--auto-balance` (balancer.ts). No consensus of our own: the election is
 * etcd's, and every phase change is a compare-and-swap on the move record.
 */
import type { Namespace } from 'etcd3';
import { isTerminal, listMoves, type TableView } from '../../cluster/index.js';
import { isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
import type { PeerTls } from '../../http/tls-listener.js';
import { RouterElection } from './election.js';
import type { HttpPools } from './http-pools.js';
import { cleanupMoves } from './move-cleanup.js';
import type { MoveHold } from './move-hold.js';
import { MoveRunner } from './move-runner.js';

/** Options of {@link MoveDriver}. */
export interface MoveDriverOptions {
  client: Namespace;
  view: TableView;
  http: HttpPools;
  clusterToken: string | undefined;
  /** Verifies nodes that advertise https when cleaning up (the router's --upstream-ca and certificate). */
  peerTls?: PeerTls | undefined;
  rateBytesPerSec: number;
  /** This router's name in the election and in the move records. */
  name: string;
  /** Election lease TTL, seconds (default 5): how long a dead leader holds the moves. */
  ttlSeconds?: number;
  /** Delete what ended moves left behind this long after they ended, seconds (default: never; `cluster cleanup` does it). */
  cleanupDelaySeconds?: number;
  /** A testing aid: hold moves at the points its file names (move-hold.ts). */
  hold?: MoveHold;
  log: Logger;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Campaigns and, while elected, drives the moves. */
export class MoveDriver {
  private wake: (() => void) | null = null;
  private readonly offUpdate: () => void;
  private readonly election: RouterElection;

  constructor(private readonly opts: MoveDriverOptions) {
    // Any change under /lmj/v1/ (a new move, a cancel) wakes an idle leader.
    this.offUpdate = opts.view.onUpdate(() => this.wake?.());
    this.election = new RouterElection({ client: opts.client, election: 'move-driver', name: opts.name, ttlSeconds: opts.ttlSeconds ?? 5, log: opts.log, lead: () => this.drive() });
  }

  /** True while this router is the elected driver. */
  isLeader(): boolean {
    return this.election.isLeader();
  }

  private async drive(): Promise<void> {
    const runner = new MoveRunner({ ...this.opts, driver: this.opts.name, leading: () => this.isLeader() });
    while (this.isLeader()) {
      try {
        const active = (await listMoves(this.opts.client)).moves.filter((m) => !isTerminal(m.move.phase));
        for (const m of active) await runner.run(m.move.id);
        if (active.length > 0) continue;
        await this.cleanupDue();
      } catch (err) {
        // A node unreachable, etcd unavailable: keep the record's phase and try again shortly.
        this.opts.log.warn({ err: isLmjError(err) ? err.toJSON() : err }, 'move step failed; retrying');
        await sleep(500);
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
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
    this.wake?.();
    await closing;
  }
}
