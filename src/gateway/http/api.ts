/**
 * The gateway's HTTP API: the shared read routes (src/http/server.ts) over the ingest
 * pipeline's read facade, plus the gateway's dead letters.
 *
 * GET /deadletters                  rejected messages, newest first
 *
 * The daemon adds `POST /query` (src/query/http-route.ts, docs/query.md) on this app.
 */
import type { FastifyInstance } from 'fastify';
import { buildHttpApi, type HttpApiOptions } from '../../http/server.js';
import { listQuery, type ListQuery } from '../../http/schemas.js';
import type { Ingestor } from '../ingest/types.js';

/** Options of {@link buildGatewayHttpApi}. */
export interface GatewayHttpApiOptions extends HttpApiOptions {
  source: Pick<Ingestor, 'listDevices' | 'deviceSummary' | 'latest' | 'readings' | 'entity' | 'findByIdentity' | 'deadLetters'>;
}

/** Builds the gateway's fastify app (not listening: call `listen`, or `inject` in tests). */
export function buildGatewayHttpApi(opts: GatewayHttpApiOptions): FastifyInstance {
  const app = buildHttpApi(opts);
  const { source } = opts;
  app.get<{ Querystring: ListQuery }>('/deadletters', { schema: { querystring: listQuery } }, async (req) => {
    const page = await source.deadLetters({ ...req.query });
    return {
      deadLetters: page.deadLetters.map((d) => ({
        seq: d.seq,
        at: d.at,
        topic: d.topic,
        code: d.code,
        message: d.message,
        deviceId: d.deviceId ?? null,
        clientId: d.clientId ?? null,
        qos: d.qos,
        size: d.payload.length,
        payload: d.payload.toString('base64'),
      })),
      next: page.next,
      total: page.total,
      dropped: page.dropped,
    };
  });
  return app;
}
