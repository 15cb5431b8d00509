/** Decoding and validation of the etcd values and of a whole table (no etcd needed: pure functions). */
import { describe, expect, it } from 'vitest';
import { ClusterTable, META_KEY, decodeLiveNode, decodeRange, groupKey, nodeKey, nodeOrigin, rangeFromKey, rangeKey, type RawValue } from '../../../src/cluster/index.js';
import { LmjError } from '../../../src/errors.js';

const raw = (v: unknown, modRevision = 1): RawValue => ({ value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), modRevision });
const meta = (over: Record<string, unknown> = {}): RawValue => raw({ format: 1, state: 'ready', version: 5, partitionsPerRange: 32768, createdAt: 1, ...over });
const range = (from: number, to: number, owner: unknown = null, epoch = 0): [string, RawValue] => [rangeKey(from), raw({ format: 1, from, to, owner, epoch })];

function kvs(...entries: [string, RawValue][]): Map<string, RawValue> {
  return new Map<string, RawValue>([[META_KEY, meta()], [nodeKey('n1'), raw({ format: 1, id: 'n1', registeredAt: 1 })], ...entries]);
}

function buildError(m: Map<string, RawValue>): LmjError {
  try {
    ClusterTable.build(m, 10);
  } catch (err) {
    if (err instanceof LmjError) return err;
    throw err;
  }
  throw new Error('expected an invalid table');
}

describe('range keys', () => {
  it('round-trip and reject anything else', () => {
    expect(rangeKey(7)).toBe('/lmj/v1/table/ranges/00007');
    expect(rangeFromKey(rangeKey(65535))).toBe(65535);
    expect(rangeFromKey('/lmj/v1/table/ranges/65536')).toBeUndefined();
    expect(rangeFromKey('/lmj/v1/table/ranges/7')).toBeUndefined();
    expect(rangeFromKey('/lmj/v1/table/meta')).toBeUndefined();
    expect(() => nodeKey('../x')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('ClusterTable.build', () => {
  it('a good table: lookups, epochs, owners, version and revision', () => {
    const t = ClusterTable.build(kvs(range(0, 32767, { kind: 'node', id: 'n1' }, 3), range(32768, 65535)), 10);
    expect(t).not.toBeNull();
    expect(t?.version).toBe(5);
    expect(t?.revision).toBe(10);
    expect(t?.rangeOf(32767)).toMatchObject({ from: 0, to: 32767, epoch: 3 });
    expect(t?.ownerOf(0).owner).toEqual({ kind: 'node', id: 'n1' });
    expect(() => t?.ownerOf(40000)).toThrow(expect.objectContaining({ code: 'UNASSIGNED', details: { partition: 40000, from: 32768, to: 65535, epoch: 0 } }));
    expect(() => t?.rangeOf(65536)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => t?.rangeOf(-1)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(t?.rangesPerOwner()).toEqual(new Map([['n1', 1]]));
  });

  it('no header or an initializing one: not initialized (null)', () => {
    const m = kvs(range(0, 65535));
    m.delete(META_KEY);
    expect(ClusterTable.build(m, 1)).toBeNull();
    m.set(META_KEY, meta({ state: 'initializing' }));
    expect(ClusterTable.build(m, 1)).toBeNull();
  });

  it('overlaps, gaps, short coverage, unknown owners and misplaced ranges are TABLE_INVALID', () => {
    expect(buildError(kvs(range(0, 40000), range(32768, 65535))).message).toMatch(/range 32768\.\.65535 overlaps/);
    expect(buildError(kvs(range(0, 100), range(32768, 65535))).message).toMatch(/partitions 101\.\.32767 are in no range/);
    expect(buildError(kvs(range(0, 32767))).message).toMatch(/partitions 32768\.\.65535 are in no range/);
    expect(buildError(kvs(range(0, 32767, { kind: 'group', id: 'g9' }), range(32768, 65535))).message).toMatch(/unknown group g9/);
    const moved = kvs(range(32768, 65535));
    moved.set(rangeKey(0), raw({ format: 1, from: 5, to: 32767, owner: null, epoch: 0 }));
    expect(buildError(moved).message).toMatch(/holds a range from 5/);
    const stray = kvs(range(0, 65535));
    stray.set('/lmj/v1/table/other', raw({ format: 1 }));
    expect(buildError(stray).message).toMatch(/unknown table key/);
    const g = kvs(range(0, 65535));
    g.set(groupKey('g1'), raw({ format: 1, id: 'g1', routers: [] }));
    expect(buildError(g).message).toMatch(/routers must be a non-empty list/);
  });

  it('a newer format version anywhere is TABLE_FORMAT_UNSUPPORTED; the header is checked first', () => {
    const m = kvs(range(0, 65535));
    m.set(META_KEY, meta({ format: 2, state: 'something-new' }));
    expect(buildError(m)).toMatchObject({ code: 'TABLE_FORMAT_UNSUPPORTED', details: { key: META_KEY, format: 2, supported: 1 } });
    const r = kvs();
    r.set(rangeKey(0), raw({ format: 3, from: 0, to: 65535 }));
    expect(buildError(r).code).toBe('TABLE_FORMAT_UNSUPPORTED');
  });
});

describe('value decoders', () => {
  it('refuse garbage with the key and field named', () => {
    const k = rangeKey(0);
    const cases: [string, RegExp][] = [
      ['\u0000\u0001', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['{"from":0}', /no format version/],
      ['{"format":1,"from":0,"to":70000,"owner":null,"epoch":0}', /to must be an integer 0\.\.65535/],
      ['{"format":1,"from":9,"to":3,"owner":null,"epoch":0}', /to 3 < from 9/],
      ['{"format":1,"from":0,"to":3,"owner":{"kind":"node","id":"a b"},"epoch":0}', /owner\.id/],
      ['{"format":1,"from":0,"to":3,"owner":null,"epoch":1.5}', /epoch must be an integer/],
    ];
    for (const [v, why] of cases) {
      expect(() => decodeRange(k, Buffer.from(v)), v).toThrow(expect.objectContaining({ code: 'TABLE_INVALID', details: { key: k }, message: expect.stringMatching(why) }));
    }
  });

  it('live-node records need address, capacity ≥ 1 and non-negative load', () => {
    const good = { format: 1, id: 'n1', address: { host: '::1', port: 80 }, capacity: { devices: 1, bytes: 1 }, load: { devices: 0, bytes: 0, writesPerSec: 0.5, readsPerSec: 0 }, startedAt: 1, updatedAt: 2 };
    expect(decodeLiveNode('k', Buffer.from(JSON.stringify(good))).load.writesPerSec).toBe(0.5);
    expect(() => decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, capacity: { devices: 0, bytes: 1 } })))).toThrow(/capacity must be ≥ 1/);
    expect(() => decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, load: { ...good.load, readsPerSec: -1 } })))).toThrow(/readsPerSec/);
    expect(() => decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, address: { host: '', port: 1 } })))).toThrow(/address\.host/);
  });

  it('live-node records: `candidate` (node --join) is optional and must be a boolean', () => {
    const good = { format: 1, id: 'n1', address: { host: '::1', port: 80 }, capacity: { devices: 1, bytes: 1 }, load: { devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }, startedAt: 1, updatedAt: 2 };
    expect(decodeLiveNode('k', Buffer.from(JSON.stringify(good))).candidate).toBeUndefined();
    expect(decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, candidate: true }))).candidate).toBe(true);
    expect(() => decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, candidate: 'yes' })))).toThrow(expect.objectContaining({ code: 'TABLE_INVALID', message: expect.stringMatching(/candidate must be true or false/) }));
  });

  it('live-node records: `scheme` (https for a node with --tls-cert) is optional, and nodeOrigin follows it', () => {
    const good = { format: 1, id: 'n1', address: { host: '::1', port: 80 }, capacity: { devices: 1, bytes: 1 }, load: { devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }, startedAt: 1, updatedAt: 2 };
    expect(nodeOrigin(decodeLiveNode('k', Buffer.from(JSON.stringify(good))))).toBe('http://[::1]:80');
    expect(nodeOrigin(decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, scheme: 'https' }))))).toBe('https://[::1]:80');
    expect(() => decodeLiveNode('k', Buffer.from(JSON.stringify({ ...good, scheme: 'ftp' })))).toThrow(expect.objectContaining({ code: 'TABLE_INVALID', message: expect.stringMatching(/scheme must be "http" or "https"/) }));
  });
});
