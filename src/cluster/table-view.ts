/**
 * The cached, watched view of the cluster a router or data node routes with: one etcd
 * get of everything under /lmj/v1/, then a watch from the next revision. Every watch
 * response is applied to the raw keys and the table is re-validated; an invalid result
 * is counted and reported (`lastError`) while the last good table stays in use. While
 * etcd is unreachable the cached table keeps serving lookups; etcd3 reconnects the watch
 * and resumes from the last revision seen, and a watch etcd cancels (e.g. compacted
 * history) is replaced by a fresh get + watch.
 *
 * Offers the single-process router's `RoutingTable` methods (`nodeFor`, `nodes`,
 * `snapshot`) plus ranges with epochs and the live nodes.
 */
import { EventEmitter } from 'node:events';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { LmjError, isLmjError } from '../errors.js';
import { clusterError } from './etcd-client.js';
import { LIVE_PREFIX, ROOT } from './keys.js';
import { decodeLiveNode, type LiveNodeRecord, type Owner } from './records.js';
import { ClusterTable, type ClusterTableData, type RangeEntry, type RawValue } from './table.js';

/** Counters of a {@link TableView} (exported as metrics by the processes). */
export interface TableViewCounters {
  /** Full reads (initial and after a cancelled watch). */
  loads: number;
  /** Watch responses applied. */
  updates: number;
  /** Table rebuilds refused as invalid (TABLE_INVALID / TABLE_FORMAT_UNSUPPORTED). */
  invalid: number;
  /** Live-node values skipped as invalid. */
  invalidLive: number;
  /** Watch disconnects and cancellations. */
  watchErrors: number;
}

/** Options of {@link TableView.open}. */
export interface TableViewOptions {
  /** How long `open` keeps trying the first read, ms (default 10 000). */
  openTimeoutMs?: number;
  /** Wait before re-reading after a cancelled watch, ms (default 500). */
  retryMs?: number;
}

/** What {@link TableView.status} reports. */
export interface TableViewStatus {
  /** The watch stream is connected. */
  connected: boolean;
  initialized: boolean;
  version: number | null;
  revision: number | null;
  /** The current problem with etcd's content (null when the served table is what etcd holds). */
  lastError: { code: string; message: string; details?: Record<string, unknown> } | null;
  counters: TableViewCounters;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The cached routing table + live nodes. Create with {@link TableView.open}. */
export class TableView {
  private readonly kvs = new Map<string, RawValue>();
  private readonly live = new Map<string, LiveNodeRecord>();
  private readonly events = new EventEmitter();
  private table: ClusterTable | null = null;
  private revision = 0;
  private watcher: Watcher | null = null;
  private connected = false;
  private closed = false;
  private lastError: LmjError | null = null;
  readonly counters: TableViewCounters = { loads: 0, updates: 0, invalid: 0, invalidLive: 0, watchErrors: 0 };

  private constructor(
    private readonly client: Namespace,
    private readonly retryMs: number,
  ) {}

  /**
   * Reads the cluster and starts watching. Keeps retrying the first read for
   * `openTimeoutMs`, then throws CLUSTER_UNAVAILABLE. An invalid or uninitialized table
   * does not fail `open`: the view waits for etcd to hold a good one (see `status()`).
   */
  static async open(client: Namespace, opts: TableViewOptions = {}): Promise<TableView> {
    const view = new TableView(client, opts.retryMs ?? 500);
    const deadline = Date.now() + (opts.openTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await view.load();
        return view;
      } catch (err) {
        if (Date.now() > deadline) {
          await view.close();
          throw clusterError(err, 'read the routing table');
        }
        await sleep(view.retryMs);
      }
    }
  }

  /** The current table; throws TABLE_NOT_INITIALIZED (or the content error) when none was ever valid. */
  current(): ClusterTable {
    if (this.table !== null) return this.table;
    if (this.lastError !== null) throw this.lastError;
    throw new LmjError('TABLE_NOT_INITIALIZED', 'the routing table is not initialized: run lmj-edge cluster --etcd URLS init');
  }

  /** The current table, or null. */
  tryCurrent(): ClusterTable | null {
    return this.table;
  }

  /** The range holding `partition` in the cached table. */
  rangeOf(partition: number): RangeEntry {
    return this.current().rangeOf(partition);
  }

  /** Owner and range of `partition`; throws UNASSIGNED when the range has no owner yet. */
  ownerOf(partition: number): { owner: Owner; range: RangeEntry } {
    return this.current().ownerOf(partition);
  }

  /** RoutingTable: the owner id (node or group) of `partition`. Throws UNASSIGNED / TABLE_NOT_INITIALIZED. */
  nodeFor(partition: number): string {
    return this.ownerOf(partition).owner.id;
  }

  /** RoutingTable: the registered data nodes. */
  nodes(): readonly { id: string; dir: string }[] {
    return this.current().snapshot().nodes;
  }

  /** RoutingTable: a plain copy of the table. */
  snapshot(): ClusterTableData {
    return this.current().snapshot();
  }

  /** The live data nodes (from their leased keys), sorted by id. */
  liveNodes(): LiveNodeRecord[] {
    return [...this.live.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The live record of one node, if it is live. */
  liveNode(id: string): LiveNodeRecord | undefined {
    return this.live.get(id);
  }

  /** Connection, table version and errors, for health endpoints and the CLI. */
  status(): TableViewStatus {
    return {
      connected: this.connected,
      initialized: this.table !== null,
      version: this.table?.version ?? null,
      revision: this.revision === 0 ? null : this.revision,
      lastError: this.lastError?.toJSON() ?? null,
      counters: { ...this.counters },
    };
  }

  /** Calls `fn` after every applied update (table or live nodes) and every watch connect/disconnect. Returns an unsubscribe function. */
  onUpdate(fn: () => void): () => void {
    this.events.on('update', fn);
    return () => this.events.off('update', fn);
  }

  /** Resolves once `pred` holds (now, or after an update or connection change); rejects with CLUSTER_UNAVAILABLE after `timeoutMs`. */
  async waitFor(pred: (view: TableView) => boolean, timeoutMs = 10_000): Promise<void> {
    if (pred(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new LmjError('CLUSTER_UNAVAILABLE', `the routing table did not reach the expected state within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onUpdate(() => {
        if (!pred(this)) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Stops watching. The client stays open (it belongs to the caller). */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = null;
    if (w !== null) await w.cancel().catch(() => undefined);
    this.events.removeAllListeners();
  }

  /** One consistent read of everything, then a watch from the revision after it. */
  private async load(): Promise<void> {
    const res = await this.client.getAll().prefix(ROOT).exec();
    const revision = Number(res.header.revision);
    this.kvs.clear();
    this.live.clear();
    for (const kv of res.kvs) this.put(kv);
    this.counters.loads++;
    this.revision = revision;
    this.rebuild();
    const watcher = await this.client.watch().prefix(ROOT).startRevision(String(revision + 1)).create();
    if (this.closed) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.watcher = watcher;
    this.connected = true;
    watcher.on('connected', () => {
      this.connected = true;
      this.events.emit('update');
    });
    watcher.on('disconnected', () => {
      this.connected = false;
      this.counters.watchErrors++;
      this.events.emit('update');
    });
    watcher.on('data', (res) => {
      for (const ev of res.events) {
        if (ev.type === 'Put') this.put(ev.kv);
        else this.delete(ev.kv.key.toString());
      }
      this.revision = Math.max(this.revision, Number(res.header.revision));
      this.counters.updates++;
      this.rebuild();
    });
    // etcd cancelled the watch (compacted history, …): read everything again.
    watcher.on('error', () => {
      this.counters.watchErrors++;
      this.connected = false;
      this.events.emit('update');
      void this.reload(watcher);
    });
  }

  private async reload(failed: Watcher): Promise<void> {
    if (this.watcher !== failed) return;
    this.watcher = null;
    await failed.cancel().catch(() => undefined);
    while (!this.closed) {
      try {
        await this.load();
        return;
      } catch {
        await sleep(this.retryMs);
      }
    }
  }

  private put(kv: IKeyValue): void {
    const key = kv.key.toString();
    if (key.startsWith(LIVE_PREFIX)) {
      try {
        this.live.set(key.slice(LIVE_PREFIX.length), decodeLiveNode(key, kv.value));
      } catch (err) {
        // A bad live record makes only that node invisible, never the table.
        if (!isLmjError(err)) throw err;
        this.live.delete(key.slice(LIVE_PREFIX.length));
        this.counters.invalidLive++;
      }
      return;
    }
    this.kvs.set(key, { value: kv.value, modRevision: Number(kv.mod_revision) });
  }

  private delete(key: string): void {
    if (key.startsWith(LIVE_PREFIX)) this.live.delete(key.slice(LIVE_PREFIX.length));
    else this.kvs.delete(key);
  }

  private rebuild(): void {
    try {
      const next = ClusterTable.build(this.kvs, this.revision);
      if (next === null && this.table !== null) {
        throw new LmjError('TABLE_INVALID', 'the table header was removed or reset; keeping the last good table', { details: { version: this.table.version } });
      }
      this.table = next;
      this.lastError = null;
    } catch (err) {
      if (!isLmjError(err)) throw err;
      this.lastError = err;
      this.counters.invalid++;
    }
    this.events.emit('update');
  }
}
