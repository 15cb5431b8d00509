import { describe, expect, it } from 'vitest';
import { assertDeviceId, deviceIdProblem, isValidDeviceId } from '../../../src/devices/device-id.js';
import { isLmjError } from '../../../src/errors.js';

const BAD_IDS = ['../x', 'a/b', '%2e%2e', '', 'x'.repeat(65), 'dévice', '温度', '.', '..', 'a..b', '.hidden', '.hidden-not-allowed', '.a.b', 'a b', 'a\\b', 'a\0b', '~root', 'a+b', '#'];

describe('device ids', () => {
  it('accepts letters, digits, - _ . up to 64 chars', () => {
    for (const id of ['a', 'sensor-01', 'A_B.c', 'x'.repeat(64), 'a.b.c', 'v1.2.3', 'x.mdb', 'sensor.2', 'a.', '0']) {
      expect(isValidDeviceId(id), id).toBe(true);
      expect(assertDeviceId(id)).toBe(id);
    }
  });

  it.each(BAD_IDS)('rejects %j with BAD_DEVICE_ID', (id) => {
    expect(deviceIdProblem(id)).toBeTypeOf('string');
    try {
      assertDeviceId(id);
      expect.unreachable();
    } catch (err) {
      expect(isLmjError(err, 'BAD_DEVICE_ID')).toBe(true);
    }
  });

  it('rejects non-strings', () => {
    expect(isValidDeviceId(42)).toBe(false);
    expect(isValidDeviceId(undefined)).toBe(false);
  });
});
