/**
 * Reading source over a gateway data directory: opens `DIR/devices/<id>/` read-only, one
 * device at a time, and pages through the `readings` set with the telemetry model's
 * `readings()` query (fields `seq`, `boot`). LMDB readers never block the gateway's
 * writer, so this works while the gateway runs. Nothing is ever created: a device without
 * an instance simply has no readings, and an invalid id from the ledger never becomes a path.
 * So does an instance whose `data.mdb` is empty: it was created but no commit of it ever
 * reached the disk (a power cut right after the device's first message), and LMDB
 * initializes such a file on its next writable open; a read-only open would fail.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/core/index.js';
import { MAX_READINGS_LIMIT, readings } from '../src/core/telemetry/index.js';
import { isValidDeviceId } from '../src/devices/device-id.js';
import type { ReadingsPage } from '../src/core/telemetry/index.js';
import type { ReadingSource } from './verify.js';

/** A source reading device instances under `dataDir`. */
export function dataDirReadingSource(dataDir: string): ReadingSource {
  return {
    async *scan(deviceId: string) {
      if (!isValidDeviceId(deviceId)) return;
      const path = join(dataDir, 'devices', deviceId);
      const file = join(path, 'data.mdb');
      if (!existsSync(file) || statSync(file).size === 0) return;
      const store = openStore(path, { readOnly: true });
      try {
        let cursor: string | null = null;
        do {
          const c: string | null = cursor;
          const page: ReadingsPage = store.read((txn) =>
            readings(txn, { fields: ['seq', 'boot'], limit: MAX_READINGS_LIMIT, ...(c === null ? {} : { cursor: c }) }),
          );
          for (const r of page.readings) yield { seq: r.values['seq'], boot: r.values['boot'] };
          cursor = page.readings.length > 0 ? page.next : null;
        } while (cursor !== null);
      } finally {
        await store.close();
      }
    },
    close: async () => undefined,
  };
}
