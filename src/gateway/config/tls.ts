/**
 * The TLS part of the daemon configuration (`tls.*`, `mqtt.tls*`, `mqtt.clientCerts`):
 * cross-setting rules and the default TLS port.
 *
 * - `tls.cert` and `tls.key` come together; setting them turns on MQTT over TLS on
 *   `mqtt.tlsPort` (8883 unless set; the embedded broker only) and HTTPS on the API port.
 * - `mqtt.clientCerts` `optional`/`require` needs `tls.ca` (what client certificates
 *   must chain to) and a certificate.
 * - With `require`, the plain MQTT listener must stay on loopback: on any other address
 *   it would take clients without a certificate. Put the TLS listener on the outside
 *   address with `mqtt.tlsHost`.
 * - A TLS listener beyond loopback needs a credential: client certificates required, or
 *   the users file.
 * - `http.plainPort` (plain HTTP on 127.0.0.1 next to HTTPS) only with a certificate.
 */
import { isLoopback } from '../../http/loopback.js';
import type { GatewayConfig } from './schema.js';

/** The MQTT-over-TLS port used when a certificate is set and `mqtt.tlsPort` is not. */
export const DEFAULT_MQTT_TLS_PORT = 8883;

/** Why the TLS settings cannot be used (key and reason), or undefined when they can. */
export function tlsProblem(cfg: GatewayConfig): { key: string; reason: string } | undefined {
  const { tls, mqtt } = cfg;
  if (tls.cert !== undefined && tls.key === undefined) return { key: 'tls.key', reason: 'tls.cert is set: the private key (--tls-key) is needed too' };
  if (tls.key !== undefined && tls.cert === undefined) return { key: 'tls.cert', reason: 'tls.key is set: the certificate (--tls-cert) is needed too' };
  const hasCert = tls.cert !== undefined;
  if (!hasCert && (mqtt.tlsPort !== undefined || mqtt.tlsHost !== undefined)) {
    return { key: 'mqtt.tlsPort', reason: 'MQTT over TLS needs a certificate (--tls-cert, --tls-key)' };
  }
  if (mqtt.clientCerts !== 'off') {
    if (!hasCert) return { key: 'mqtt.clientCerts', reason: 'client certificates need the TLS listener: set --tls-cert and --tls-key' };
    if (tls.ca === undefined) return { key: 'tls.ca', reason: `mqtt.clientCerts=${mqtt.clientCerts} verifies client certificates against a CA: set --tls-ca` };
  }
  if (cfg.http.plainPort !== undefined && !hasCert) {
    return { key: 'http.plainPort', reason: 'a plain loopback listener is the companion of HTTPS: without --tls-cert the API port is plain HTTP already' };
  }
  if (cfg.broker.url !== undefined) return undefined;
  if (mqtt.clientCerts === 'require' && !isLoopback(mqtt.host)) {
    return {
      key: 'mqtt.host',
      reason: `client certificates are required, but the plain MQTT listener on ${mqtt.host} would take clients without one: bind it to 127.0.0.1 and the TLS listener with --mqtt-tls-host`,
    };
  }
  const tlsHost = mqtt.tlsHost ?? mqtt.host;
  if (hasCert && !isLoopback(tlsHost) && mqtt.clientCerts !== 'require' && mqtt.usersFile === undefined) {
    return {
      key: 'mqtt.usersFile',
      reason: `the MQTT TLS listener on ${tlsHost} is beyond this machine: require client certificates (--mqtt-client-certs require) or credentials (--mqtt-users FILE)`,
    };
  }
  return undefined;
}

/** Fills in the defaults that depend on other settings (the TLS port once a certificate is set). */
export function resolveTlsDefaults(cfg: GatewayConfig): void {
  if (cfg.tls.cert !== undefined && cfg.broker.url === undefined && cfg.mqtt.tlsPort === undefined) cfg.mqtt.tlsPort = DEFAULT_MQTT_TLS_PORT;
}
