/**
 * The daemon's {@link QuerySource}: device instances through the ingest pipeline's
 * pool (the same open environments ingest writes, never a second open), the device
 * list from its registry, and the tables instance `DIR/tables/` opened once on first
 * use and closed with the daemon.
 */
import { join } from 'node:path';
import { openStore } from '../../core/index.js';
import type { Durability, LmjStore, ReadTxn } from '../../core/types.js';
import { isLmjError } from '../../errors.js';
import type { QuerySource } from '../../query/index.js';
import type { Ingestor } from '../ingest/types.js';

/** A source over the running daemon, with `close()` for the tables instance. */
export interface DaemonQuerySource extends QuerySource {
  close(): Promise<void>;
}

/** Builds the daemon's query source over `ingestor` (tables in `dataDir/tables`). */
export function daemonQuerySource(ingestor: Pick<Ingestor, 'listDevices' | 'withDevice'>, dataDir: string, durability: Durability): DaemonQuerySource {
  let tables: LmjStore | undefined;
  return {
    async listDevices() {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await ingestor.listDevices({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        for (const d of page.devices) ids.push(d.id);
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
      return ids;
    },
    async readDevice<T>(deviceId: string, fn: (txn: ReadTxn) => T): Promise<T | undefined> {
      try {
        return await ingestor.withDevice(deviceId, (store) => store.read(fn));
      } catch (err) {
        // Listed but gone (or never created): the query sees no instance.
        if (isLmjError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      }
    },
    async tables() {
      tables ??= openStore(join(dataDir, 'tables'), { durability });
      return tables;
    },
    async close() {
      const t = tables;
      tables = undefined;
      await t?.close();
    },
  };
}
