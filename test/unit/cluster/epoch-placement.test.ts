/** The data node's epoch check and the placement rule (pure functions over a built table). */
import { describe, expect, it } from 'vitest';
import { ClusterTable, META_KEY, checkEpoch, nodeKey, parseRefusal, pickLeastLoaded, rangeKey, type LiveNodeRecord, type RawValue } from '../../../src/cluster/index.js';
import { LmjError } from '../../../src/errors.js';

const raw = (v: unknown): RawValue => ({ value: Buffer.from(JSON.stringify(v)), modRevision: 1 });

function table(): ClusterTable {
  const m = new Map<string, RawValue>([
    [META_KEY, raw({ format: 1, state: 'ready', version: 7, partitionsPerRange: 16384, createdAt: 1 })],
    [nodeKey('a'), raw({ format: 1, id: 'a', registeredAt: 1 })],
    [nodeKey('b'), raw({ format: 1, id: 'b', registeredAt: 1 })],
    [rangeKey(0), raw({ format: 1, from: 0, to: 16383, owner: { kind: 'node', id: 'a' }, epoch: 4 })],
    [rangeKey(16384), raw({ format: 1, from: 16384, to: 65535, owner: null, epoch: 0 })],
  ]);
  const t = ClusterTable.build(m, 100);
  if (t === null) throw new Error('table not built');
  return t;
}

function refusal(fn: () => unknown): LmjError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LmjError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('checkEpoch', () => {
  const t = table();
  it('accepts the owner at the current range and epoch', () => {
    expect(checkEpoch(t, 'a', { partition: 42, from: 0, epoch: 4 })).toMatchObject({ from: 0, to: 16383, epoch: 4 });
  });

  it('an older epoch is STALE_EPOCH carrying the current epoch, range and owner', () => {
    const e = refusal(() => checkEpoch(t, 'a', { partition: 42, from: 0, epoch: 3 }));
    expect(e.code).toBe('STALE_EPOCH');
    expect(e.details).toEqual({ partition: 42, from: 0, to: 16383, epoch: 4, owner: { kind: 'node', id: 'a' }, version: 7, requested: { from: 0, epoch: 3 } });
    // The answer body a node sends parses back into the same details.
    expect(parseRefusal({ error: e.toJSON() })).toEqual({ code: 'STALE_EPOCH', details: e.details });
  });

  it('a newer epoch is EPOCH_AHEAD; a claimed range starting after the partition is STALE_EPOCH', () => {
    expect(refusal(() => checkEpoch(t, 'a', { partition: 42, from: 0, epoch: 5 })).code).toBe('EPOCH_AHEAD');
    expect(refusal(() => checkEpoch(t, 'a', { partition: 42, from: 43, epoch: 4 })).code).toBe('STALE_EPOCH');
  });

  it('other range bounds at the same epoch are a split one side has not seen yet: accepted for the owner only', () => {
    // The node has not seen a split at 32 yet (the router routes with the upper half).
    expect(checkEpoch(t, 'a', { partition: 42, from: 32, epoch: 4 })).toMatchObject({ from: 0, to: 16383, epoch: 4 });
    expect(refusal(() => checkEpoch(t, 'b', { partition: 42, from: 32, epoch: 4 })).code).toBe('NOT_OWNER');
    // The router has not seen a split the node has: the node's upper half, routed with the whole range.
    const m = new Map<string, RawValue>([
      [META_KEY, raw({ format: 1, state: 'ready', version: 8, partitionsPerRange: 16384, createdAt: 1 })],
      [nodeKey('a'), raw({ format: 1, id: 'a', registeredAt: 1 })],
      [rangeKey(0), raw({ format: 1, from: 0, to: 31, owner: { kind: 'node', id: 'a' }, epoch: 4 })],
      [rangeKey(32), raw({ format: 1, from: 32, to: 16383, owner: { kind: 'node', id: 'a' }, epoch: 4 })],
      [rangeKey(16384), raw({ format: 1, from: 16384, to: 65535, owner: null, epoch: 0 })],
    ]);
    const split = ClusterTable.build(m, 101)!;
    expect(checkEpoch(split, 'a', { partition: 42, from: 0, epoch: 4 })).toMatchObject({ from: 32, to: 16383, epoch: 4 });
    expect(refusal(() => checkEpoch(split, 'a', { partition: 42, from: 0, epoch: 3 })).code).toBe('STALE_EPOCH');
  });

  it('another node, or nobody, at the current epoch is NOT_OWNER', () => {
    const e = refusal(() => checkEpoch(t, 'b', { partition: 42, from: 0, epoch: 4 }));
    expect(e.code).toBe('NOT_OWNER');
    expect(e.details).toMatchObject({ owner: { kind: 'node', id: 'a' }, epoch: 4 });
    expect(refusal(() => checkEpoch(t, 'a', { partition: 20000, from: 16384, epoch: 0 })).code).toBe('NOT_OWNER');
  });

  it('parseRefusal ignores other errors and malformed bodies', () => {
    expect(parseRefusal({ error: { code: 'BAD_BATCH', details: {} } })).toBeUndefined();
    expect(parseRefusal({ error: { code: 'NOT_OWNER' } })).toBeUndefined();
    expect(parseRefusal(null)).toBeUndefined();
  });
});

describe('pickLeastLoaded', () => {
  const node = (id: string, devices: number, bytes = 0, writesPerSec = 0): LiveNodeRecord => ({
    format: 1,
    id,
    address: { host: '127.0.0.1', port: 1 },
    capacity: { devices: 100, bytes: 1000 },
    load: { devices, bytes, writesPerSec, readsPerSec: 0 },
    startedAt: 0,
    updatedAt: 0,
  });
  it('lowest fill ratio (devices or bytes) wins, then fewer ranges, then writes/s, then id', () => {
    expect(pickLeastLoaded([], new Map())).toBeUndefined();
    expect(pickLeastLoaded([node('a', 50), node('b', 10)], new Map())?.id).toBe('b');
    expect(pickLeastLoaded([node('a', 10), node('b', 10, 900)], new Map())?.id).toBe('a');
    expect(pickLeastLoaded([node('a', 0), node('b', 0)], new Map([['a', 2], ['b', 1]]))?.id).toBe('b');
    expect(pickLeastLoaded([node('a', 0, 0, 9), node('b', 0, 0, 1)], new Map())?.id).toBe('b');
    expect(pickLeastLoaded([node('b', 0), node('a', 0)], new Map())?.id).toBe('a');
    // Less than a percent apart counts as equal: the range count decides.
    expect(pickLeastLoaded([node('a', 10, 100), node('b', 10, 101)], new Map([['a', 3]]))?.id).toBe('b');
  });
});
