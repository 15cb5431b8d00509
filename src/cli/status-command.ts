/** `lmj-edge status`: a running gateway's health and upstream sync status (over its HTTP API). */
import type { Command } from 'commander';
import { isLmjError } from '../errors.js';
import type { SyncStatus } from '../sync/types.js';
import { fail, printJson, printTable } from './output.js';
import { getJson } from './remote.js';

function ago(ts: number | null): string {
  if (ts === null) return '-';
  return `${new Date(ts).toISOString()} (${Math.round((Date.now() - ts) / 1000)} s ago)`;
}

/** Adds the `status` command. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a running gateway's health and upstream sync status")
    .option('--http <url>', "the gateway's HTTP API", 'http://127.0.0.1:8080')
    .option('--json', 'print JSON')
    .action(async (flags: { http: string; json?: boolean }) => {
      try {
        const health = (await getJson(flags.http, 'healthz')) as Record<string, unknown>;
        let sync: SyncStatus | null = null;
        try {
          sync = (await getJson(flags.http, 'sync/status')) as SyncStatus;
        } catch (err) {
          // 404: the gateway runs without --upstream.
          if (!isLmjError(err, 'NOT_FOUND')) throw err;
        }
        if (flags.json === true) {
          printJson({ health, sync });
          return;
        }
        const rows: string[][] = [['status', String(health.status)]];
        if (sync === null) rows.push(['sync', 'disabled (no --upstream)']);
        else {
          rows.push(
            ['upstream', `${sync.upstream} as ${sync.gatewayId}`],
            ['backlog', `${sync.backlog.readings} readings, ${sync.backlog.bytes} bytes, ${sync.backlog.devices} devices`],
            ['budget', `${sync.budgetBytes} bytes, policy ${sync.policy}${sync.backpressure ? ' (BACK-PRESSURE ACTIVE)' : ''}`],
            ['oldest unsynced', ago(sync.oldestUnsyncedTs)],
            ['last success', ago(sync.lastSuccessAt)],
            ['last error', sync.lastError === null ? '-' : `${sync.lastError.code}: ${sync.lastError.message} at ${ago(sync.lastError.at)}`],
            ['synced', `${sync.counters.readingsSynced} readings in ${sync.counters.batchesSent} batches (${sync.counters.batchFailures} failed)`],
            ['dropped', String(sync.counters.readingsDropped)],
          );
        }
        printTable(['', ''], rows);
      } catch (err) {
        fail(err, 1);
      }
    });
}
