import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../../src/errors.js';
import { decodeValue } from '../../../../src/core/telemetry/values.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function decodeError(bytes: Buffer): string {
  try {
    decodeValue(bytes);
  } catch (e) {
    return isLmjError(e) ? e.code : `not an LmjError: ${String(e)}`;
  }
  return 'decoded';
}

describe('decoding stored leaf values', () => {
  it('keeps bignums and 64-bit integers exact', () => {
    expect(decodeValue(hex('c249010000000000000000'))).toEqual({ $int: '18446744073709551616' });
    expect(decodeValue(hex('c349010000000000000000'))).toEqual({ $int: '-18446744073709551617' });
    expect(decodeValue(hex('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeValue(hex('1b0020000000000000'))).toEqual({ $int: '9007199254740992' });
  });

  it('maps non-finite floats and half floats', () => {
    expect(decodeValue(hex('fb7ff0000000000000'))).toEqual({ $float: 'Infinity' });
    expect(decodeValue(hex('f93e00'))).toBe(1.5);
    expect(decodeValue(hex('fa3fc00000'))).toBe(1.5);
  });

  it('decodes a value that is a view into a larger buffer', () => {
    const big = hex('ff6568656c6c6fff');
    expect(decodeValue(big.subarray(1, 7))).toBe('hello');
  });

  it('refuses what is not a leaf: tags other than bignums, non-empty containers, breaks, indefinite items', () => {
    for (const bad of ['c074323031332d30332d32315432303a30343a30305a', 'a1016161', '8101', 'ff', '5f4101ff', '7f6161ff', '9fff', 'f8ff', 'e0', 'c2', 'c24101ff']) {
      expect(decodeError(hex(bad)), bad).toBe('INVALID_PARAM');
    }
  });
});
