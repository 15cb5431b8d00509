/**
 * Retention in the daemon: the runner over the ingest pool (with the outbox's cursors
 * when syncing), its metrics, `GET /retention/status` and `POST /retention/run`.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { assertDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { authOf } from '../../http/api-auth.js';
import { isLoopback } from '../../http/loopback.js';
import { deviceIdsOnDisk } from '../../devices/layout.js';
import type { DevicePool } from '../../devices/pool/types.js';
import type { RetentionSettings } from './policy.js';
import { registerRetentionMetrics } from './metrics.js';
import { RetentionRunner, type SyncCursors } from './runner.js';

/** What the daemon hands over. */
export interface RetentionServiceDeps {
  dataDir: string;
  pool: DevicePool;
  settings: RetentionSettings;
  sync: SyncCursors | undefined;
  registry: Registry;
  http: FastifyInstance;
}

/** Creates the runner, registers metrics and routes (before the app listens), starts the timer. */
export function startRetention(deps: RetentionServiceDeps): RetentionRunner {
  const runner = new RetentionRunner({
    pool: deps.pool,
    settings: deps.settings,
    listDevices: () => deviceIdsOnDisk(deps.dataDir),
    sync: deps.sync,
  });
  registerRetentionMetrics(deps.registry, () => runner.status());
  deps.http.get('/retention/status', async () => runner.status());
  deps.http.post<{ Querystring: { device?: string } }>('/retention/run', async (req) => {
    // Deleting data is an operator's action: from this machine, or with an admin API token.
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!isLoopback(peer) && authOf(req)?.scope !== 'admin') throw new LmjError('ADMIN_LOOPBACK_ONLY', `POST /retention/run from ${peer}`);
    const device = req.query.device;
    // BAD_DEVICE_ID for a malformed id, before anything runs.
    const devices = await runner.run(device === undefined ? undefined : assertDeviceId(device));
    return { devices, status: runner.status() };
  });
  runner.start();
  return runner;
}
