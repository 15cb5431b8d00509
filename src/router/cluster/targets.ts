/**
 * Where an owner is reached: a data node at the address and scheme of its live record, a router
 * group at one of its routers (round-robin, the next one after a failure).
 */
import { nodeOrigin, type Owner, type TableView } from '../../cluster/index.js';
import { LmjError } from '../../errors.js';

/** A peer to send a part to. */
export interface Target {
  kind: 'node' | 'group';
  id: string;
  origin: string;
}

/** Resolves owners to peers. */
export class Targets {
  private readonly next = new Map<string, number>();

  constructor(private readonly view: TableView) {}

  /** The peer for `owner`; throws NODE_UNAVAILABLE when a node is not live or a group has no router. */
  of(owner: Owner): Target {
    if (owner.kind === 'node') {
      const live = this.view.liveNode(owner.id);
      if (live === undefined) throw new LmjError('NODE_UNAVAILABLE', `data node ${owner.id} is not live`, { details: { node: owner.id } });
      // The scheme the node advertises: https when it listens with TLS (verified with the router's --upstream-ca).
      return { kind: 'node', id: owner.id, origin: nodeOrigin(live) };
    }
    const routers = this.view.current().groups.get(owner.id)?.routers ?? [];
    if (routers.length === 0) throw new LmjError('NODE_UNAVAILABLE', `router group ${owner.id} has no routers`, { details: { group: owner.id } });
    const i = (this.next.get(owner.id) ?? 0) % routers.length;
    return { kind: 'group', id: owner.id, origin: new URL(routers[i] as string).origin };
  }

  /** A group router failed: use the next one from now on. */
  failed(t: Target): void {
    if (t.kind === 'group') this.next.set(t.id, (this.next.get(t.id) ?? 0) + 1);
  }
}
