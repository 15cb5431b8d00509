/** The move fields of a range (learner, fenced), the fence refusal, and the move record decoder. */
import { describe, expect, it } from 'vitest';
import { ClusterTable, META_KEY, checkEpoch, decodeMove, decodeRange, moveKey, nodeKey, parseRefusal, rangeKey, type RawValue } from '../../../src/cluster/index.js';
import { isLmjError } from '../../../src/errors.js';

const raw = (v: unknown): RawValue => ({ value: Buffer.from(JSON.stringify(v)), modRevision: 1 });

function table(range0: Record<string, unknown>): ClusterTable {
  const t = ClusterTable.build(
    new Map<string, RawValue>([
      [META_KEY, raw({ format: 1, state: 'ready', version: 3, partitionsPerRange: 32768, createdAt: 1 })],
      [nodeKey('a'), raw({ format: 1, id: 'a', registeredAt: 1 })],
      [nodeKey('b'), raw({ format: 1, id: 'b', registeredAt: 1 })],
      [rangeKey(0), raw({ format: 1, from: 0, to: 32767, owner: { kind: 'node', id: 'a' }, epoch: 5, ...range0 })],
      [rangeKey(32768), raw({ format: 1, from: 32768, to: 65535, owner: null, epoch: 0 })],
    ]),
    9,
  );
  if (t === null) throw new Error('no table');
  return t;
}

const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('range move fields', () => {
  it('a fenced range refuses writes (RANGE_FENCED with the route) but not reads; the learner never passes', () => {
    const t = table({ learner: { kind: 'node', id: 'b' }, fenced: true });
    expect(t.rangeOf(7)).toMatchObject({ learner: { kind: 'node', id: 'b' }, fenced: true });
    const claim = { partition: 7, from: 0, epoch: 5 };
    expect(checkEpoch(t, 'a', claim)).toMatchObject({ from: 0 });
    const err = caught(() => checkEpoch(t, 'a', claim, { write: true }));
    expect(isLmjError(err, 'RANGE_FENCED')).toBe(true);
    expect(parseRefusal({ error: (err as { toJSON(): unknown }).toJSON() })).toMatchObject({ code: 'RANGE_FENCED', details: { from: 0, epoch: 5, owner: { kind: 'node', id: 'a' } } });
    expect(isLmjError(caught(() => checkEpoch(t, 'b', claim, { write: true })), 'NOT_OWNER')).toBe(true);
    expect(table({}).rangeOf(7)).toMatchObject({ learner: null, fenced: false });
  });

  it('a learner naming no registered node, or a fence that is not a boolean, is TABLE_INVALID', () => {
    expect(isLmjError(caught(() => table({ learner: { kind: 'node', id: 'zz' } })), 'TABLE_INVALID')).toBe(true);
    expect(isLmjError(caught(() => decodeRange(rangeKey(0), Buffer.from(JSON.stringify({ format: 1, from: 0, to: 1, owner: null, epoch: 0, fenced: 'yes' })))), 'TABLE_INVALID')).toBe(true);
    expect(isLmjError(caught(() => decodeRange(rangeKey(0), Buffer.from(JSON.stringify({ format: 1, from: 0, to: 1, owner: null, epoch: 0, learner: { kind: 'group', id: 'g' } })))), 'TABLE_INVALID')).toBe(true);
  });

  it('decodes a move record and refuses a bad phase, bad range or newer format', () => {
    const m = { format: 1, id: 'm1', range: { from: 0, to: 255 }, source: 'a', target: 'b', phase: 'copying', epoch: 3, fenceEpoch: null, progress: { devicesCopied: 1, devicesTotal: 2, bytes: 10, readings: 3, passes: 1 }, createdAt: 1, updatedAt: 2, fencedAt: null, flippedAt: null, cleanedAt: null, driver: 'r1', error: null };
    const dec = (v: unknown): unknown => decodeMove(moveKey('m1'), Buffer.from(JSON.stringify(v)));
    expect(dec(m)).toEqual({ ...m, rateBytesPerSec: null });
    expect(isLmjError(caught(() => dec({ ...m, phase: 'teleported' })), 'TABLE_INVALID')).toBe(true);
    expect(isLmjError(caught(() => dec({ ...m, range: { from: 9, to: 1 } })), 'TABLE_INVALID')).toBe(true);
    expect(isLmjError(caught(() => dec({ ...m, format: 2 })), 'TABLE_FORMAT_UNSUPPORTED')).toBe(true);
  });
});
