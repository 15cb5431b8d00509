/** `lmj-edge devices`: lists devices with their last-seen time and reading count. */
import type { Command } from 'commander';
import { deviceSummary } from '../../core/telemetry/index.js';
import { LmjError } from '../../errors.js';
import { listDeviceIds, withDevice } from '../local-store.js';
import { fail, printJson, printTable } from '../output.js';
import { getJson } from '../remote.js';

interface Row {
  id: string;
  lastSeen: number | null;
  readings: number;
}

interface Flags {
  data?: string;
  http?: string;
  limit: string;
  json?: boolean;
}

async function fromData(dataDir: string, limit: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const id of listDeviceIds(dataDir).slice(0, limit)) {
    const summary = await withDevice(dataDir, id, (store) => store.read((txn) => deviceSummary(txn)));
    rows.push({ id, lastSeen: summary?.lastSeen ?? null, readings: summary?.readings ?? 0 });
  }
  return rows;
}

async function fromHttp(base: string, limit: number): Promise<Row[]> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: String(Math.min(1000, limit - rows.length)) });
    if (cursor !== null) q.set('cursor', cursor);
    const page = (await getJson(base, `devices?${q}`)) as { devices: Row[]; next: string | null };
    rows.push(...page.devices);
    cursor = page.next;
  } while (cursor !== null && rows.length < limit);
  return rows;
}

/** Adds the `devices` command. */
export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('list devices (from --data DIR directly, or --http URL of a running daemon)')
    .option('--data <dir>', 'data directory to read')
    .option('--http <url>', 'base URL of a running daemon, e.g. http://127.0.0.1:8080')
    .option('--limit <n>', 'most devices to list', '1000')
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      try {
        const limit = Number(flags.limit);
        if (!Number.isSafeInteger(limit) || limit < 1) throw new LmjError('BAD_REQUEST', '--limit must be a positive integer');
        const rows =
          flags.http !== undefined
            ? await fromHttp(flags.http, limit)
            : flags.data !== undefined
              ? await fromData(flags.data, limit)
              : (() => {
                  throw new LmjError('BAD_REQUEST', 'give --data DIR or --http URL');
                })();
        if (flags.json === true) return printJson({ devices: rows });
        printTable(
          ['DEVICE', 'LAST SEEN', 'READINGS'],
          rows.map((r) => [r.id, r.lastSeen === null ? '-' : new Date(r.lastSeen).toISOString(), String(r.readings)]),
        );
      } catch (err) {
        fail(err);
      }
    });
}
