/**
 * A {@link QuerySource} over a data directory for a separate process (the CLI, the
 * bench): device instances `DIR/devices/<id>/` opened read-only on first use and kept
 * open until `close()`, the tables instance `DIR/tables/` opened read-write (created
 * on first use). LMDB lets readers run beside the daemon's writer; in the daemon's own
 * process use its read facade instead (one open store per instance per process).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../core/index.js';
import type { LmjStore, ReadTxn } from '../core/types.js';
import type { QuerySource } from './types.js';

/** A data-directory source with `close()`. */
export interface DataDirSource extends QuerySource {
  close(): Promise<void>;
}

/** A source reading `dataDir` (devices read-only, tables read-write). */
export function dataDirSource(dataDir: string): DataDirSource {
  const devicesDir = join(dataDir, 'devices');
  const open = new Map<string, LmjStore>();
  let tables: LmjStore | undefined;
  return {
    async listDevices() {
      if (!existsSync(devicesDir)) return [];
      // Only names read from disk are ever joined to the path: a query cannot name a path.
      return readdirSync(devicesDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && (open.has(e.name) || existsSync(join(devicesDir, e.name, 'data.mdb'))))
        .map((e) => e.name)
        .sort();
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
