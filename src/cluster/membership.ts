/**
 * Membership: a data node registers under an etcd lease (`/lmj/v1/live/<id>`: address,
 * capacity, load figures) that etcd3 keeps alive; every successful keepalive rewrites the
 * record with fresh load figures. When the process dies the keepalives stop and etcd
 * deletes the key after the TTL, so membership follows liveness. The persistent record
 * (`/lmj/v1/nodes/<id>`) stays: a dead node's ranges remain its own (never reassigned
 * automatically). Two live processes never hold one id (NODE_ID_IN_USE).
 */
import type { Lease, Namespace, PutBuilder } from 'etcd3';
import { LmjError, isLmjError } from '../errors.js';
import { etcdCall } from './etcd-client.js';
import { FORMAT_VERSION, LIVE_PREFIX, NODES_PREFIX, checkMemberId, liveKey, nodeKey } from './keys.js';
import { decodeLiveNode, decodeNode, encodeRecord, type Capacity, type LiveNodeRecord, type LoadFigures, type NodeRecord } from './records.js';

/** Options of {@link NodeRegistration.register}. */
export interface NodeRegistrationOptions {
  id: string;
  /** Where routers reach the node's HTTP API. */
  address: { host: string; port: number };
  capacity: Capacity;
  /** Called for every refresh: the node's current load. */
  load: () => LoadFigures;
  /** Mark the live record as a balancing candidate (`lmj-edge node --join`). */
  candidate?: boolean;
  /** `https` when the node listens with TLS: routers and peer nodes then call it over https:// (absent = http). */
  scheme?: 'http' | 'https';
  /** Lease TTL, seconds (default 10; etcd rounds very short TTLs up to its minimum). */
  ttlSeconds?: number;
  /**
   * Called with `lost` when the lease was lost (etcd unreachable past twice the TTL) and with
   * `registered` once it is re-established. `lost` with a NODE_ID_IN_USE error is final:
   * another process took the id meanwhile, and this registration gives up.
   */
  onStateChange?: (state: 'lost' | 'registered', err?: unknown) => void;
}

/** What {@link NodeRegistration.status} reports. */
export interface RegistrationStatus {
  registered: boolean;
  leaseId: string | null;
  refreshes: number;
  refreshFailures: number;
  /** Times the node registered again after losing its lease. */
  reRegistrations: number;
  lastRefreshAt: number | null;
}

/** A node's live registration. */
export class NodeRegistration {
  private lease: Lease | null = null;
  private leaseId: string | null = null;
  private stopped = false;
  private readonly startedAt = Date.now();
  private readonly counters = { refreshes: 0, refreshFailures: 0, reRegistrations: 0 };
  private lastRefreshAt: number | null = null;

  private constructor(
    private readonly client: Namespace,
    private readonly opts: NodeRegistrationOptions,
  ) {}

  /**
   * Registers the node: its persistent record (once) and its live record under a fresh
   * lease. Throws NODE_ID_IN_USE when another live process holds the id,
   * CLUSTER_UNAVAILABLE when etcd cannot be reached.
   */
  static async register(client: Namespace, opts: NodeRegistrationOptions): Promise<NodeRegistration> {
    checkMemberId(opts.id, 'node');
    const reg = new NodeRegistration(client, opts);
    const record: NodeRecord = { format: FORMAT_VERSION, id: opts.id, registeredAt: Date.now() };
    await etcdCall('register the node', () => client.if(nodeKey(opts.id), 'Version', '==', 0).then(client.put(nodeKey(opts.id)).value(encodeRecord(record))).commit());
    await reg.acquire(null);
    return reg;
  }

  /** The current lease id (null while re-registering). */
  get currentLeaseId(): string | null {
    return this.leaseId;
  }

  /** Writes the live record with the current load figures now. */
  async refresh(): Promise<void> {
    const lease = this.lease;
    if (lease === null || this.stopped) return;
    try {
      await etcdCall('refresh the node record', () => lease.put(liveKey(this.opts.id)).value(this.record()).exec());
      this.counters.refreshes++;
      this.lastRefreshAt = Date.now();
    } catch (err) {
      this.counters.refreshFailures++;
      throw err;
    }
  }

  /** Registration state and counters. */
  status(): RegistrationStatus {
    return { registered: this.lease !== null, leaseId: this.leaseId, ...this.counters, lastRefreshAt: this.lastRefreshAt };
  }

  /** Leaves the cluster: revokes the lease (the live record goes at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    const lease = this.lease;
    this.lease = null;
    if (lease !== null) await lease.revoke().catch(() => lease.release());
  }

  private record(): string {
    const rec: LiveNodeRecord = {
      format: FORMAT_VERSION,
      id: this.opts.id,
      address: { ...this.opts.address },
      capacity: { ...this.opts.capacity },
      load: this.opts.load(),
      startedAt: this.startedAt,
      updatedAt: Date.now(),
      ...(this.opts.candidate === true ? { candidate: true } : {}),
      // Only HTTPS is written: a plain node's record looks as it did before the field existed.
      ...(this.opts.scheme === 'https' ? { scheme: 'https' as const } : {}),
    };
    return encodeRecord(rec);
  }

  /** Grants a lease and claims the live key: absent, or still held by our own previous lease. */
  private async acquire(previousLease: string | null): Promise<void> {
    const lease = this.client.lease(this.opts.ttlSeconds ?? 10, { autoKeepAlive: true });
    // Handlers first: etcd3 emits `lost` for a failed grant too.
    lease.on('lost', (err) => this.onLost(lease, err));
    lease.on('keepaliveSucceeded', () => void this.refresh().catch(() => undefined));
    try {
      const id = await etcdCall('grant the node lease', () => lease.grant());
      const key = liveKey(this.opts.id);
      const put = (): PutBuilder => this.client.put(key).value(this.record()).lease(id);
      let res = await etcdCall('claim the node id', () => this.client.if(key, 'Version', '==', 0).then(put()).commit());
      if (!res.succeeded && previousLease !== null) {
        res = await etcdCall('claim the node id', () => this.client.if(key, 'Lease', '==', previousLease).then(put()).commit());
      }
      if (!res.succeeded) throw new LmjError('NODE_ID_IN_USE', `a live node is registered as ${this.opts.id}`, { details: { node: this.opts.id } });
      // stop() ran while this re-registration was under way: leave again at once.
      if (this.stopped) throw new LmjError('SHUTTING_DOWN', 'registration stopped');
      this.lease = lease;
      this.leaseId = id;
    } catch (err) {
      lease.removeAllListeners();
      await lease.revoke().catch(() => lease.release());
      throw err;
    }
  }

  /** The lease is gone (etcd unreachable past the TTL): register again until it works or stop() is called. */
  private onLost(lease: Lease, err: unknown): void {
    if (this.lease !== lease || this.stopped) return;
    const previous = this.leaseId;
    this.lease = null;
    this.leaseId = null;
    this.opts.onStateChange?.('lost', err);
    void (async () => {
      for (let delay = 200; !this.stopped; delay = Math.min(delay * 2, 5000)) {
        try {
          await this.acquire(previous);
          this.counters.reRegistrations++;
          this.opts.onStateChange?.('registered');
          return;
        } catch (e) {
          // Another process took the id meanwhile: that one is the live node now.
          if (isLmjError(e, 'NODE_ID_IN_USE')) {
            this.stopped = true;
            this.opts.onStateChange?.('lost', e);
            return;
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
  }
}

/** The live nodes (invalid live values are skipped and counted in `invalid`). */
export async function listLiveNodes(client: Namespace): Promise<{ nodes: LiveNodeRecord[]; invalid: number }> {
  const res = await etcdCall('list live nodes', () => client.getAll().prefix(LIVE_PREFIX).exec());
  const nodes: LiveNodeRecord[] = [];
  let invalid = 0;
  for (const kv of res.kvs) {
    try {
      nodes.push(decodeLiveNode(kv.key.toString(), kv.value));
    } catch (err) {
      if (!isLmjError(err)) throw err;
      invalid++;
    }
  }
  return { nodes, invalid };
}

/** Every node that ever registered, live or not (invalid values are skipped and counted in `invalid`). */
export async function listNodes(client: Namespace): Promise<{ nodes: NodeRecord[]; invalid: number }> {
  const res = await etcdCall('list nodes', () => client.getAll().prefix(NODES_PREFIX).exec());
  const nodes: NodeRecord[] = [];
  let invalid = 0;
  for (const kv of res.kvs) {
    try {
      nodes.push(decodeNode(kv.key.toString(), kv.value));
    } catch (err) {
      if (!isLmjError(err)) throw err;
      invalid++;
    }
  }
  return { nodes, invalid };
}
