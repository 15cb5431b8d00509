/**
 * Which device a publisher is, and the one rule that follows from it: a publisher bound
 * to a device may publish only to that device's topics.
 *
 * Identity from a client certificate: on the TLS listener with `--mqtt-client-certs
 * require|optional`, a verified certificate whose subject CN is a valid device id binds
 * the connection to that device. A CN that is not a device id (`gateway tools`, a bridge
 * for many devices) binds nothing, and neither does an unverified or absent certificate.
 * A publish to another device's topic is rejected in ingest with FOREIGN_TOPIC: acked and
 * dead-lettered like a bad topic (the same bytes would fail again), counted in
 * `lmj_mqtt_acl_denied_total{reason}` with the identity's source as the reason.
 */
import { TLSSocket } from 'node:tls';
import type { Client } from 'aedes';
import { Counter, type Registry } from 'prom-client';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';

/** The device a connection is bound to, and what proved it (the counter's `reason`). */
export interface PublisherIdentity {
  deviceId: string;
  source: 'cert_cn';
}

/**
 * The subject CN of the client's verified certificate, or undefined (no TLS, no or an
 * unverified certificate, no CN, or several CNs, which name nothing unambiguously).
 */
export function certificateCommonName(client: Client): string | undefined {
  const conn = (client as unknown as { conn?: unknown }).conn;
  if (!(conn instanceof TLSSocket) || !conn.authorized) return undefined;
  const cn: unknown = conn.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/** The identity a client's certificate proves, or undefined when it binds no device. */
export function identityOf(client: Client): PublisherIdentity | undefined {
  const cn = certificateCommonName(client);
  return cn !== undefined && isValidDeviceId(cn) ? { deviceId: cn, source: 'cert_cn' } : undefined;
}

/** FOREIGN_TOPIC when `identity` is bound to another device than the topic's `deviceId`. */
export function foreignTopicError(identity: PublisherIdentity | undefined, deviceId: string): LmjError | undefined {
  if (identity === undefined || identity.deviceId === deviceId) return undefined;
  return new LmjError('FOREIGN_TOPIC', `publisher ${identity.deviceId} (by ${identity.source}) may not publish for device ${deviceId}`, {
    details: { deviceId, identity: identity.deviceId, source: identity.source },
  });
}

/** `lmj_mqtt_acl_denied_total{reason}`; returns the function that counts one denial. */
export function aclDeniedCounter(registry: Registry): (reason: PublisherIdentity['source']) => void {
  const counter = new Counter({
    name: 'lmj_mqtt_acl_denied_total',
    help: "Publications refused because the publisher's identity names another device than the topic",
    labelNames: ['reason'],
    registers: [registry],
  });
  return (reason) => counter.inc({ reason });
}
