/**
 * A {@link QuerySource} over a data directory for a separate process (the CLI, the
 * bench): device instances `DIR/devices/<id>/` opened read-only on first use and kept
 * open until `close()`, the tables instance `DIR/tables/` opened read-write (created
 * on first use). LMDB lets readers run beside the daemon's writer; in the daemon's own
 * process use its read facade instead (one open store per instance per process).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../core/index.js';
import type { LmjStore, ReadTxn } from '../core/types.js';
import type { QuerySource } from './types.js';

/**
 * The device directories holding a `data.mdb`, listed again only when `DIR/devices`
 * changed (its mtime; a new device directory changes it) or changed less than a second
 * ago (coarse file-system clocks), so a query on one device costs one stat, not a
 * directory listing and a stat per device. Directories without `data.mdb` yet are
 * checked again on every call.
 */
class DeviceListing {
  private mtimeMs = -1;
  private withData: string[] = [];
  private pending: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly open: ReadonlyMap<string, unknown>,
  ) {}

  list(): string[] {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.dir).mtimeMs;
    } catch {
      return [];
    }
    if (mtimeMs !== this.mtimeMs || Date.now() - mtimeMs < 1000) this.relist(mtimeMs);
    const ready = this.pending.filter((n) => this.hasData(n));
    if (ready.length === 0) return this.withData;
    this.withData = [...this.withData, ...ready].sort();
    const added = new Set(ready);
    this.pending = this.pending.filter((n) => !added.has(n));
    return this.withData;
  }

  private hasData(name: string): boolean {
    return this.open.has(name) || existsSync(join(this.dir, name, 'data.mdb'));
  }

  private relist(mtimeMs: number): void {
    // Only names read from disk are ever joined to the path: a query cannot name a path.
    const names = readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const ready = new Set(names.filter((n) => this.hasData(n)));
    this.withData = [...ready];
    this.pending = names.filter((n) => !ready.has(n));
    this.mtimeMs = mtimeMs;
  }
}

/** A data-directory source with `close()`. */
export interface DataDirSource extends QuerySource {
  close(): Promise<void>;
}

/** A source reading `dataDir` (devices read-only, tables read-write). */
export function dataDirSource(dataDir: string): DataDirSource {
  const devicesDir = join(dataDir, 'devices');
  const open = new Map<string, LmjStore>();
  const listing = new DeviceListing(devicesDir, open);
  let tables: LmjStore | undefined;
  return {
    async listDevices() {
      return listing.list();
    },
    knownDevices(ids) {
      // An instance held open exists: no stat of DIR/devices for `device = 'x'`.
      return ids.every((id) => open.has(id)) ? [...new Set(ids)].sort() : undefined;
    },
    async readDevice<T>(deviceId: string, fn: (txn: ReadTxn) => T): Promise<T | undefined> {
      let store = open.get(deviceId);
      if (store === undefined) {
        if (!(await this.listDevices()).includes(deviceId)) return undefined;
        store = openStore(join(devicesDir, deviceId), { readOnly: true });
        open.set(deviceId, store);
      }
      return store.read(fn);
    },
    async tables() {
      tables ??= openStore(join(dataDir, 'tables'));
      return tables;
    },
    async close() {
      const all = [...open.values(), ...(tables === undefined ? [] : [tables])];
      open.clear();
      tables = undefined;
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
