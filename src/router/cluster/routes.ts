/**
 * Where a cluster router sends a partition: the range from its cached table view,
 * corrected by the refusals nodes sent back (a refusal carries the node's newer range,
 * epoch and owner, so a router whose watch lags — or whose etcd is unreachable — still
 * re-routes at once), and assigned on first use when nobody owns it yet
 * (`assignPartition`, one assignment per range in flight).
 */
import type { Namespace } from 'etcd3';
import { assignPartition, type Owner, type RefusalDetails, type TableView } from '../../cluster/index.js';
import { LmjError } from '../../errors.js';

/** A range as a router routes with it. */
export interface Route {
  from: number;
  to: number;
  owner: Owner | null;
  epoch: number;
}

/** Routes of one router. */
export class Routes {
  private readonly hints = new Map<number, Route>();
  private readonly assigning = new Map<number, Promise<Route>>();
  /**
   * Ranges per owner for the assignments in flight: the view's counts when the first of
   * them started, plus each pick as it is made (assignPartition counts into it), so a
   * gateway's first batch over many new devices spreads them over the live nodes.
   */
  private burst: Map<string, number> | undefined;

  constructor(
    private readonly view: TableView,
    private readonly client: Namespace,
  ) {}

  /** The route for `partition` (no assignment: an unowned range comes back with owner null). */
  peek(partition: number): Route {
    const r = this.view.rangeOf(partition);
    const h = this.hints.get(r.from);
    if (h !== undefined) {
      if (h.epoch > r.epoch && h.to === r.to) return h;
      this.hints.delete(r.from);
    }
    return { from: r.from, to: r.to, owner: r.owner, epoch: r.epoch };
  }

  /** The route for `partition`, assigning its range to the least-loaded live node when it has no owner. */
  async resolve(partition: number): Promise<Route & { owner: Owner }> {
    const r = this.peek(partition);
    if (r.owner !== null) return r as Route & { owner: Owner };
    let p = this.assigning.get(r.from);
    if (p === undefined) {
      if (this.assigning.size === 0) this.burst = this.ownerCounts();
      p = assignPartition(this.client, partition, { rangesPerOwner: this.burst! })
        .then((c) => {
          const route: Route = { from: c.range.from, to: c.range.to, owner: c.range.owner, epoch: c.range.epoch };
          this.hints.set(route.from, route);
          return route;
        })
        .finally(() => {
          this.assigning.delete(r.from);
          if (this.assigning.size === 0) this.burst = undefined;
        });
      this.assigning.set(r.from, p);
    }
    const route = await p;
    if (route.owner === null) throw new LmjError('UNASSIGNED', `partition ${partition} has no owner`, { details: { partition } });
    return route as Route & { owner: Owner };
  }

  /** Ranges per owner in the view, plus ranges this router assigned that the view does not show yet. */
  private ownerCounts(): Map<string, number> {
    const counts = this.view.current().rangesPerOwner();
    for (const h of this.hints.values()) {
      if (h.owner !== null && this.view.rangeOf(h.from).owner === null) counts.set(h.owner.id, (counts.get(h.owner.id) ?? 0) + 1);
    }
    return counts;
  }

  /** Learns from a node's refusal: its range, epoch and owner are newer than ours. */
  learn(d: RefusalDetails): void {
    const current = this.peek(d.partition);
    if (d.epoch > current.epoch) this.hints.set(d.from, { from: d.from, to: d.to, owner: d.owner, epoch: d.epoch });
  }

  /** Waits (bounded) until the view shows `partition`'s range past `epoch` (a fenced range flipped or came down). */
  async pastEpoch(partition: number, epoch: number, timeoutMs: number): Promise<void> {
    await this.view.waitFor((v) => (v.tryCurrent()?.rangeOf(partition).epoch ?? 0) > epoch, timeoutMs).catch(() => undefined);
  }

  /** Waits (bounded) for the view to reach a table version. */
  async catchUp(version: number, timeoutMs: number): Promise<void> {
    await this.view.waitFor((v) => (v.tryCurrent()?.version ?? 0) >= version, timeoutMs).catch(() => undefined);
  }
}
