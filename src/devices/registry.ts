/**
 * The device registry: a gateway-level index (id → first/last seen, reading count)
 * so listing 10,000 devices opens no instance. Derived data, rebuildable from
 * `DIR/devices/`.
 */
import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import { committed } from '../core/index.js';
import { LmjError } from '../errors.js';
import { isValidDeviceId } from './device-id.js';

/** One registry entry. */
export interface DeviceListEntry {
  id: string;
  firstSeen: number;
  lastSeen: number;
  readings: number;
}

/** Paging for the device list (sorted by id). */
export interface DeviceListQuery {
  /** 1..1000, default 100. */
  limit?: number;
  /** The `next` of the previous page (the last id returned). */
  cursor?: string;
}

/** A page of devices; `next` is null on the last page. */
export interface DeviceListPage {
  devices: DeviceListEntry[];
  next: string | null;
}

/**
 * The registry store (`DIR/gateway/registry`, lmdb-js). Derived data: after a crash it
 * may miss the newest devices or lag on counts; the ingestor's reconcile adds devices
 * found on disk but missing here, and every later commit of a device rewrites its entry
 * with absolute values from the device's own root. Durable (fsync on commit, off the
 * ack path) unless the gateway runs `fast`: an LMDB environment written without fsync
 * can be *torn* by a power cut — its newest meta page on disk, the pages it points to
 * not — and the daemon then died at start (SIGBUS reading past the end of the file) or
 * on the first registry commit (docs/power-cut.md, "Findings").
 */
export class DeviceRegistry {
  private readonly env: RootDatabase<Omit<DeviceListEntry, 'id'>, string>;
  private pending = new Set<Promise<unknown>>();

  /** `durable`: fsync every commit (the gateway's `safe` mode). */
  constructor(dir: string, durable = false) {
    mkdirSync(dir, { recursive: true });
    this.env = open<Omit<DeviceListEntry, 'id'>, string>({ path: dir, noSync: !durable, overlappingSync: false });
  }

  /** Upserts entries (absolute values, not increments); not awaited by ingest. */
  update(entries: readonly DeviceListEntry[]): void {
    if (entries.length === 0) return;
    const p = committed(
      this.env.transaction(() => {
        for (const e of entries) this.env.put(e.id, { firstSeen: e.firstSeen, lastSeen: e.lastSeen, readings: e.readings });
      }),
    )
      .catch(() => undefined)
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Removes entries (a data node deleting the copies of a range it gave away); resolves once committed. */
  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.env.transaction(() => {
      for (const id of ids) this.env.removeSync(id);
    });
  }

  /** Devices sorted by id, paged by the last id. Throws BAD_REQUEST. */
  list(query: DeviceListQuery = {}): DeviceListPage {
    const limit = query.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new LmjError('BAD_REQUEST', 'limit must be an integer in 1..1000', { details: { limit } });
    }
    const range: { limit: number; start?: string } = { limit: limit + 1 };
    let skip: string | undefined;
    if (query.cursor !== undefined) {
      if (!isValidDeviceId(query.cursor)) throw new LmjError('BAD_REQUEST', 'bad device cursor', { details: { cursor: String(query.cursor).slice(0, 80) } });
      range.start = query.cursor;
      range.limit = limit + 2;
      skip = query.cursor;
    }
    const rows: DeviceListEntry[] = [];
    for (const { key, value } of this.env.getRange(range)) {
      if (key === skip) continue;
      rows.push({ id: key, ...value });
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { devices: page, next: rows.length > limit && last !== undefined ? last.id : null };
  }

  /** Every registered id (for reconcile). */
  ids(): Set<string> {
    return new Set(this.env.getKeys({}) as Iterable<string>);
  }

  /** Number of registered devices. */
  count(): number {
    return this.env.getKeysCount();
  }

  /** Waits for queued updates to commit. */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.settle();
    await this.env.close();
  }
}
