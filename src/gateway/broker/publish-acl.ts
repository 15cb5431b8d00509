/**
 * The identity a TLS client certificate proves, for the publish ACL (./acl.ts).
 *
 * On the TLS listener with `--mqtt-client-certs require|optional`, a verified certificate
 * whose subject CN is a valid device id binds the connection to that device: the ACL then
 * allows only that device's topics, whatever the users file says (the certificate is the
 * stronger proof). A CN that is not a device id (`gateway tools`, a bridge for many
 * devices) binds nothing, and neither does an unverified or absent certificate. A refused
 * publish is dead-lettered as ACL_DENIED and counted in `lmj_mqtt_acl_denied_total` with
 * `reason="cert_cn"`.
 */
import { TLSSocket } from 'node:tls';
import type { Client } from 'aedes';
import { isValidDeviceId } from '../../devices/device-id.js';
import type { MqttIdentity } from './acl.js';

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

/** The ACL identity a client's certificate proves, or undefined when it binds no device. */
export function certificateIdentity(client: Client): MqttIdentity | undefined {
  const cn = certificateCommonName(client);
  return cn !== undefined && isValidDeviceId(cn) ? { username: `cert CN=${cn}`, devices: new Set([cn]) } : undefined;
}
