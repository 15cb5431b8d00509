import { describe, expect, it } from 'vitest';
import { deriveMaxOpen, INSTANCE_MEMORY_KIB, memoryMaxOpen, softFdLimit } from '../../../../src/devices/pool/fd-budget.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 4096                 files
`;

describe('fd budget', () => {
  it('reads the soft RLIMIT_NOFILE', () => {
    expect(softFdLimit(LIMITS)).toBe(1024);
    expect(softFdLimit(LIMITS.replace('1024  ', 'unlimited'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(softFdLimit('nothing here')).toBeUndefined();
    expect(softFdLimit()).toBeGreaterThan(0);
  });

  it('caps open instances by (limit − headroom) / 3', () => {
    expect(deriveMaxOpen(1024)).toBe(256);
    expect(deriveMaxOpen(1024, 124)).toBe(300);
    expect(deriveMaxOpen(100)).toBe(1);
    expect(deriveMaxOpen(1_000_000)).toBe(4096);
    expect(deriveMaxOpen(undefined)).toBe(256);
  });

  it('caps open instances by a memory budget at the measured cost of one', () => {
    expect(INSTANCE_MEMORY_KIB).toBe(256);
    expect(memoryMaxOpen(64)).toBe(256);
    expect(memoryMaxOpen(1)).toBe(4);
    expect(memoryMaxOpen(0.01)).toBe(1);
  });
});
