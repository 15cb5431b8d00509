import { describe, expect, it } from 'vitest';
import { shouldAck } from '../../../../src/gateway/broker/ack-policy.js';

describe('shouldAck', () => {
  it('acks durable results and bad input, withholds gateway-side failures', () => {
    expect(shouldAck({ status: 'stored', deviceId: 'd', ptr: 'p', ts: 1, readings: 1 })).toBe(true);
    expect(shouldAck({ status: 'duplicate', deviceId: 'd', ptr: 'p' })).toBe(true);
    expect(shouldAck({ status: 'meta', deviceId: 'd' })).toBe(true);
    for (const code of ['BAD_JSON', 'BAD_TOPIC', 'BAD_DEVICE_ID', 'TOO_DEEP', 'PAYLOAD_TOO_LARGE', 'DEVICE_UNAVAILABLE'] as const) {
      expect(shouldAck({ status: 'rejected', code, message: '' }), code).toBe(true);
    }
    for (const code of ['SHUTTING_DOWN', 'OVERLOADED', 'DISK_FULL', 'STORE_IO', 'STORE_CLOSED', 'JOURNAL_IO', 'JOURNAL_FULL', 'JOURNAL_CLOSED'] as const) {
      expect(shouldAck({ status: 'rejected', code, message: '' }), code).toBe(false);
    }
  });
});
