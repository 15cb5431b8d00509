/**
 * A data node's ownership check (docs/cluster.md, Epoch check): every device of a
 * request is checked against the node's cached table with the claim the router routed
 * by. A claim newer than the node's table (EPOCH_AHEAD) first waits briefly for the
 * node's watch to catch up, so a router that just assigned a range is not bounced.
 */
import { checkEpoch, type RouteClaim, type TableView } from '../../cluster/index.js';
import { isLmjError } from '../../errors.js';
import { claimFor, decodeClaims, ROUTE_HEADER, type RangeClaim } from '../route-claims.js';

/** How long a node waits for its table to reach a newer claimed epoch, ms. */
const CATCH_UP_MS = 2000;

/** Checks claims against the node's view of the table. */
export class Ownership {
  constructor(
    private readonly view: TableView,
    private readonly self: string,
    private readonly partitionOf: (deviceId: string) => number,
  ) {}

  /**
   * Resolves when `self` owns every device's partition at the claimed range and epoch;
   * else throws NOT_OWNER / STALE_EPOCH / EPOCH_AHEAD / BAD_REQUEST, and with `write`
   * RANGE_FENCED for a range fenced by a move.
   */
  async checkDevices(deviceIds: readonly string[], claims: readonly RangeClaim[], opts: { write?: boolean } = {}): Promise<void> {
    for (const id of deviceIds) await this.checkOne(claimFor(claims, this.partitionOf(id)), opts.write === true);
  }

  /**
   * A query guard: with a route header the router's claim is checked; without one (a
   * direct query) the node answers only for a partition it owns now.
   */
  async checkQuery(deviceId: string, headers: Record<string, string | string[] | undefined>): Promise<void> {
    const partition = this.partitionOf(deviceId);
    const raw = headers[ROUTE_HEADER];
    if (raw === undefined) {
      const range = this.view.rangeOf(partition);
      await this.checkOne({ partition, from: range.from, epoch: range.epoch });
      return;
    }
    await this.checkOne(claimFor(decodeClaims(raw), partition));
  }

  private async checkOne(claim: RouteClaim, write = false): Promise<void> {
    try {
      checkEpoch(this.view.current(), this.self, claim, { write });
    } catch (err) {
      if (!isLmjError(err, 'EPOCH_AHEAD')) throw err;
      await this.view.waitFor((v) => (v.tryCurrent()?.rangeOf(claim.partition).epoch ?? 0) >= claim.epoch, CATCH_UP_MS).catch(() => undefined);
      checkEpoch(this.view.current(), this.self, claim, { write });
    }
  }
}
