/** The routing claim header: encoding, strict parsing, and which claim covers a partition. */
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import { claimFor, decodeClaims, encodeClaims } from '../../../src/router/route-claims.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isLmjError(err) ? err.code : String(err);
  }
  return undefined;
}

describe('route claims', () => {
  it('round-trips, one claim per range, sorted by first partition', () => {
    const raw = encodeClaims([{ from: 512, epoch: 3 }, { from: 0, epoch: 1 }, { from: 512, epoch: 3 }]);
    expect(raw).toBe('0:1,512:3');
    expect(decodeClaims(raw)).toEqual([{ from: 0, epoch: 1 }, { from: 512, epoch: 3 }]);
  });

  it('finds the routed range of a partition (the last claim starting at or before it)', () => {
    const claims = decodeClaims('0:1,256:2,1024:7');
    expect(claimFor(claims, 300)).toEqual({ partition: 300, from: 256, epoch: 2 });
    expect(claimFor(claims, 65535)).toEqual({ partition: 65535, from: 1024, epoch: 7 });
    expect(code(() => claimFor(decodeClaims('256:1'), 10))).toBe('BAD_REQUEST');
  });

  it('refuses missing, malformed and out-of-range claims with BAD_REQUEST', () => {
    for (const bad of [undefined, '', 'x', '1:', ':1', '65536:1', '1:-1', '1:1,,2:2', '1:1;2:2', ['1:1']]) {
      expect(code(() => decodeClaims(bad)), JSON.stringify(bad)).toBe('BAD_REQUEST');
    }
    expect(code(() => decodeClaims(Array.from({ length: 4097 }, (_, i) => `${i}:1`).join(',')))).toBe('BAD_REQUEST');
  });
});
