/**
 * The embedded broker's publish ACL: which devices an authenticated MQTT client may
 * publish for. The one place this is decided.
 *
 * - With a users file, a client publishes only to the topics of the devices its entry
 *   names (`device=a,b` in the users file), or, without a mapping, of the device whose
 *   id equals its username. `device=*` allows every device (a trusted bridge).
 * - Without a users file (anonymous, loopback only) every client may publish for
 *   every device, as before per-device credentials existed.
 *
 * A topic that names no device (matches no template) is not the ACL's business: ingest
 * dead-letters it as BAD_TOPIC. Further sources of identity (a TLS client certificate's
 * CN) add devices to the same {@link MqttIdentity}.
 */
import { isValidDeviceId } from '../../devices/device-id.js';
import type { TopicParser } from '../topics.js';

/** Who an MQTT client is, once authenticated, and the devices it may publish for. */
export interface MqttIdentity {
  /** The users-file name it logged in with; undefined when anonymous. */
  username: string | undefined;
  /** Devices it may publish for, or `any`. Empty: none (a username that is no device id, without a mapping). */
  devices: ReadonlySet<string> | 'any';
}

/** Why a publish was refused (the `reason` label of `lmj_mqtt_acl_denied_total`). */
export type AclDenyReason = 'other_device' | 'no_device' | 'cert_cn';

/** The ACL's answer for one publish. */
export type AclDecision =
  | { allowed: true }
  | { allowed: false; reason: AclDenyReason; deviceId: string; message: string };

/** Anonymous clients (no users file): every device, as without an ACL. */
export const ANONYMOUS: MqttIdentity = { username: undefined, devices: 'any' };

/**
 * The identity of a user logged in with the users file: its mapped devices (`'*'` = any),
 * or, without a mapping, the device named like the user (none if the name is no device id).
 */
export function userIdentity(username: string, mapped: readonly string[] | '*' | undefined): MqttIdentity {
  if (mapped === '*') return { username, devices: 'any' };
  if (mapped !== undefined) return { username, devices: new Set(mapped) };
  return { username, devices: new Set(isValidDeviceId(username) ? [username] : []) };
}

/** Decides whether `identity` may publish to `topic`. */
export function decidePublish(identity: MqttIdentity, topic: string, topics: TopicParser): AclDecision {
  if (identity.devices === 'any') return { allowed: true };
  let deviceId: string;
  try {
    deviceId = topics.parse(topic).deviceId;
  } catch {
    // Not a device topic: ingest refuses it with its own code (BAD_TOPIC, BAD_DEVICE_ID).
    return { allowed: true };
  }
  if (identity.devices.has(deviceId)) return { allowed: true };
  const who = `user ${JSON.stringify(identity.username)}`;
  if (identity.devices.size === 0) {
    return {
      allowed: false,
      reason: 'no_device',
      deviceId,
      message: `${who} may publish for no device (its name is no device id and its users-file entry has no device=…); refused topic of device ${JSON.stringify(deviceId)}`,
    };
  }
  return {
    allowed: false,
    reason: 'other_device',
    deviceId,
    message: `${who} may publish only for ${[...identity.devices].map((d) => JSON.stringify(d)).join(', ')}; refused topic of device ${JSON.stringify(deviceId)}`,
  };
}
