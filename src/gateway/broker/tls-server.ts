/**
 * The embedded broker's MQTT-over-TLS listener (`--mqtt-tls-port`, 8883 by default when a
 * certificate is set). A connection reaches aedes only after its handshake finished and
 * its client certificate passed `--mqtt-client-certs` (src/http/tls-listener.ts);
 * refusals are counted in `lmj_tls_handshake_failures_total{listener="mqtt"}`.
 *
 * Bounds: the handshake times out (`mqtt.tlsHandshakeTimeoutMs`), and the listener holds
 * at most `maxConnections` sockets, handshaking or not (more are refused at accept,
 * counted `max_connections`), so a handshake flood or slow-loris clients cannot grow
 * memory beyond that many sockets for that long.
 */
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../http/logger.js';
import { clientCertRefusal, tlsServerOptions, watchHandshakeErrors, type ClientCertMode, type TlsMetrics } from '../../http/tls-listener.js';
import type { TlsMaterial } from '../../http/tls-material.js';

/** The TLS part of the embedded broker's options. */
export interface MqttTlsOptions {
  /** Bind address (the plain listener's unless `mqtt.tlsHost` says otherwise). */
  host: string;
  port: number;
  material: TlsMaterial;
  clientCerts: ClientCertMode;
  handshakeTimeoutMs: number;
  metrics: TlsMetrics;
}

/** A listening TLS server and a way to close it together with its handshaking sockets. */
export interface MqttTlsListener {
  readonly port: number;
  /** Stops accepting and destroys sockets still in their handshake. */
  close(): Promise<void>;
}

/**
 * Listens on `opts.host:opts.port`; every connection that completes its handshake and passes
 * the client-certificate check goes to `accept`.
 */
export async function listenMqttTls(
  opts: MqttTlsOptions,
  bounds: { maxConnections: number; onDrop: () => void; log: Logger },
  accept: (socket: TLSSocket) => void,
): Promise<MqttTlsListener> {
  const { log } = bounds;
  // Sockets still in their handshake, by remote address and port (unique among live connections).
  const handshaking = new Map<string, Socket>();
  const keyOf = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
  const server: Server = createServer(tlsServerOptions(opts.material, opts.clientCerts, opts.handshakeTimeoutMs));
  server.maxConnections = bounds.maxConnections;
  server.on('drop', bounds.onDrop);
  server.on('connection', (raw: Socket) => {
    const key = keyOf(raw);
    handshaking.set(key, raw);
    raw.once('close', () => {
      if (handshaking.get(key) === raw) handshaking.delete(key);
    });
  });
  watchHandshakeErrors(server, 'mqtt', opts.metrics, log);
  server.on('secureConnection', (socket: TLSSocket) => {
    handshaking.delete(keyOf(socket));
    const refusal = clientCertRefusal(socket, opts.clientCerts);
    if (refusal !== undefined) {
      opts.metrics.refused('mqtt', refusal);
      log.warn({ reason: refusal, remote: socket.remoteAddress, cert: socket.authorizationError }, 'mqtt tls client refused');
      socket.destroy();
      return;
    }
    accept(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Accepted sockets are the broker's to close; these never got that far.
      for (const raw of handshaking.values()) raw.destroy();
      await closed;
    },
  };
}
