/**
 * What every TLS listener of lmj-edge shares (the gateway's MQTT and HTTPS listeners,
 * the router, the data node): server options with a bounded handshake, the client
 * certificate check, and one counter of refused handshakes by reason.
 *
 * Client certificates are requested with `rejectUnauthorized: false` and judged here
 * after the handshake, because Node destroys a rejected socket without any event the
 * server could count. `require` refuses a connection without a verified certificate;
 * `optional` accepts one without a certificate but refuses a certificate that does not
 * verify (expired, another CA): a presented certificate is always checked.
 *
 * The handshake is bounded by `handshakeTimeoutMs` (Node's `handshakeTimeout`; its default
 * is 120 s): a client that opens TCP and stalls the handshake (slow loris, handshake
 * flood) is dropped after it and counted `timeout`, so stalled handshakes hold at most
 * the listener's connection cap for at most that long.
 */
import type { TLSSocket, TlsOptions, Server as TlsServer } from 'node:tls';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { TlsMaterial } from './tls-material.js';

/** `--mqtt-client-certs`: whether clients must present a certificate signed by `--tls-ca`. */
export type ClientCertMode = 'off' | 'optional' | 'require';

/** Why a TLS connection was refused (the `reason` label). */
export type TlsRefusalReason =
  | 'timeout'
  | 'no_client_cert'
  | 'client_cert_expired'
  | 'client_cert_untrusted'
  /** The client closed the handshake, typically because it does not trust our certificate. */
  | 'peer_aborted'
  /** The client sent an alert about our certificate (unknown CA, expired, bad certificate). */
  | 'peer_refused_cert'
  /** Not TLS at all (plain MQTT or HTTP on the TLS port), or a protocol mismatch. */
  | 'protocol';

/** Default bound of one TLS handshake, ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** `lmj_tls_handshake_failures_total{listener,reason}` on one registry. */
export class TlsMetrics {
  private readonly failures: Counter<'listener' | 'reason'>;

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('lmj_tls_handshake_failures_total');
    this.failures =
      (existing as Counter<'listener' | 'reason'> | undefined) ??
      new Counter({
        name: 'lmj_tls_handshake_failures_total',
        help: 'TLS connections refused during or right after the handshake, by listener and reason',
        labelNames: ['listener', 'reason'],
        registers: [registry],
      });
  }

  /** One refused connection. */
  refused(listener: string, reason: TlsRefusalReason): void {
    this.failures.inc({ listener, reason });
  }
}

/** Server options for `tls.createServer` / fastify's `https`. */
export function tlsServerOptions(material: TlsMaterial, clientCerts: ClientCertMode, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    requestCert: clientCerts !== 'off',
    rejectUnauthorized: false,
    handshakeTimeout: handshakeTimeoutMs,
    minVersion: 'TLSv1.2',
  };
}

/** The reason for a `tlsClientError` (an error during the handshake). */
export function handshakeErrorReason(err: Error): TlsRefusalReason {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'peer_aborted';
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR)/.test(code)) {
    return 'peer_refused_cert';
  }
  return 'protocol';
}

/**
 * Judges a finished handshake's client certificate per `mode`; returns why to refuse
 * it, or undefined to accept it.
 */
export function clientCertRefusal(socket: TLSSocket, mode: ClientCertMode): TlsRefusalReason | undefined {
  if (mode === 'off' || socket.authorized) return undefined;
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  if (!presented) return mode === 'require' ? 'no_client_cert' : undefined;
  const err = String(socket.authorizationError ?? '');
  return err === 'CERT_HAS_EXPIRED' || err === 'CERT_NOT_YET_VALID' ? 'client_cert_expired' : 'client_cert_untrusted';
}

/** TLS of outgoing peer connections: the CA to trust and, when this process has one, its own certificate (for mutual TLS). */
export interface PeerTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** TLS settings of an HTTPS listener (gateway API, router, data node). */
export interface HttpsOptions {
  material: TlsMaterial;
  /** `require` when the listener only serves clients with a certificate signed by the material's CA. */
  clientCerts: ClientCertMode;
  handshakeTimeoutMs: number;
  /** The `listener` label of the counters (`http`, `router`, `node`). */
  listener: string;
}

/**
 * Guards an HTTPS server: counts its handshake failures and refuses (counted) clients
 * whose certificate fails `clientCerts`, before any request of theirs is read.
 */
export function guardHttpsServer(server: TlsServer, opts: HttpsOptions, metrics: TlsMetrics, log: Logger): void {
  watchHandshakeErrors(server, opts.listener, metrics, log);
  if (opts.clientCerts === 'off') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const refusal = clientCertRefusal(socket, opts.clientCerts);
    if (refusal === undefined) return;
    metrics.refused(opts.listener, refusal);
    log.warn({ listener: opts.listener, reason: refusal, remote: socket.remoteAddress }, 'tls client refused');
    socket.destroy();
  });
}

/**
 * Counts and logs handshake failures of `server` (`tlsClientError`) and closes their
 * sockets; Node keeps a failed socket open until it is destroyed.
 */
export function watchHandshakeErrors(server: TlsServer, listener: string, metrics: TlsMetrics, log: Logger): void {
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    const reason = handshakeErrorReason(err);
    metrics.refused(listener, reason);
    log.debug({ listener, reason, err: err.message, remote: socket.remoteAddress }, 'tls handshake failed');
    socket.destroy();
  });
}
