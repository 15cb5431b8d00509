/** `GET /sync/status` on the gateway's HTTP API. */
import type { FastifyInstance } from 'fastify';
import type { SyncService } from './service.js';

/** Adds `GET /sync/status` (the {@link SyncStatus} JSON) to a fastify app before it listens. */
export function registerSyncRoutes(app: FastifyInstance, sync: SyncService): void {
  app.get('/sync/status', async () => sync.status());
}
