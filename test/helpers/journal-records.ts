/** Journal test records: a payload that names its device and sequence number, identity from it. */
import { messageIdentity } from '../../src/core/telemetry/identity.js';
import type { JournalRecord } from '../../src/gateway/journal/index.js';

/** A telemetry record for `deviceId` carrying `seq` (and `pad` filler bytes). */
export function testRecord(deviceId: string, seq: number, pad = 0): JournalRecord {
  const payload = Buffer.from(JSON.stringify({ seq, dev: deviceId, pad: 'x'.repeat(pad) }));
  return { deviceId, kind: 'telemetry', format: 'json', identity: messageIdentity(payload), receivedAt: 1_764_000_000_000 + seq, payload };
}

/** The `seq` a {@link testRecord} payload carries. */
export function seqOf(r: JournalRecord): number {
  return (JSON.parse(r.payload.toString()) as { seq: number }).seq;
}
