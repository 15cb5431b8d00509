/**
 * One etcd3 election a cluster router campaigns in (`/lmj/v1/election/<name>/…`, under a
 * lease of `ttlSeconds`): the move driver's and the balancer's. While elected, `lead` runs;
 * it loops on {@link RouterElection.isLeader} and returns when that turns false. A failed
 * campaign (the lease lost during an etcd outage) ends the leadership and campaigns again
 * a second later. When the leader dies its lease expires after the TTL and the next
 * campaigner is elected. No consensus of our own: the election is etcd's.
 */
import type { Campaign, Namespace } from 'etcd3';
import { ROOT } from '../../cluster/index.js';
import type { Logger } from '../../http/logger.js';

/** Options of {@link RouterElection}. */
export interface RouterElectionOptions {
  client: Namespace;
  /** The election's name under `/lmj/v1/election/`. */
  election: string;
  /** This router's value in the election (its name). */
  name: string;
  ttlSeconds: number;
  log: Logger;
  /** Runs while elected; returns once {@link RouterElection.isLeader} is false. */
  lead: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Campaigns until closed; runs `lead` while elected. */
export class RouterElection {
  private campaign: Campaign | null = null;
  private leading = false;
  private closed = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RouterElectionOptions) {
    this.campaignOnce();
  }

  /** True while this router is elected (and not closing). */
  isLeader(): boolean {
    return this.leading && !this.closed;
  }

  private campaignOnce(): void {
    if (this.closed) return;
    const campaign = this.opts.client.namespace(ROOT).election(this.opts.election, this.opts.ttlSeconds).campaign(this.opts.name);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.closed || this.campaign !== campaign) return;
      this.leading = true;
      this.opts.log.info({ election: this.opts.election, name: this.opts.name }, `elected ${this.opts.election}`);
      this.loop = this.opts.lead();
    });
    campaign.on('error', (err: Error) => {
      // etcd3 can emit two errors for one failed campaign (its lease lost, and its start
      // failed): only the current campaign campaigns again, else campaigns would multiply
      // and a superseded one could hold the election with nobody leading.
      if (this.campaign !== campaign) return;
      this.opts.log.warn({ err, election: this.opts.election }, 'campaign failed; campaigning again');
      this.leading = false;
      this.campaign = null;
      void campaign.resign().catch(() => undefined);
      void sleep(1000).then(() => this.campaignOnce());
    });
  }

  /** Stops leading, waits for `lead` to return, and resigns (the next campaigner is elected at once). */
  async close(): Promise<void> {
    this.closed = true;
    this.leading = false;
    const c = this.campaign;
    this.campaign = null;
    await this.loop.catch(() => undefined);
    if (c !== null) await c.resign().catch(() => undefined);
  }
}
