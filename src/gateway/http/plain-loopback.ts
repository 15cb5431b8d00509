/**
 * With HTTPS on the API port, an optional second listener that speaks plain HTTP on
 * 127.0.0.1 only (`--http-plain-port`), for local tools and health checks that have no
 * CA file. It serves the same fastify app: every route, hook and error mapping is the
 * HTTPS listener's, through fastify's own request entry point (`routing`).
 */
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The address the plain listener binds: loopback, whatever `http.host` is. */
export const PLAIN_LOOPBACK_HOST = '127.0.0.1';

/** A listening plain-HTTP twin of the app. */
export interface PlainLoopback {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the plain listener on `127.0.0.1:port` (0 = any free port) once `app` is ready. */
export async function listenPlainLoopback(app: FastifyInstance, port: number): Promise<PlainLoopback> {
  await app.ready();
  const server: Server = createServer((req, res) => app.routing(req, res));
  // The same bounds fastify puts on its own server.
  server.requestTimeout = app.server.requestTimeout;
  server.headersTimeout = app.server.headersTimeout;
  server.keepAliveTimeout = app.server.keepAliveTimeout;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, PLAIN_LOOPBACK_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
