import { describe, expect, it } from 'vitest';
import { KIND_REF, KIND_SCALAR, openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode } from './helpers.js';

describe('document API', () => {
  it('round-trips nested JSON-like values with exact scalar types', async () => {
    const s = openStore(tmpDir());
    const doc = {
      str: '42',
      num: 42,
      float: 1.5,
      neg: -7,
      big: 2 ** 53 - 1,
      yes: true,
      no: false,
      nil: null,
      text: 'héllo ✓',
      nested: { a: { b: { c: [1, '1', true, null] } } },
      emptyObj: {},
      emptyArr: [],
      arrOfObjs: [{ x: 1 }, { y: [[], {}] }],
      long: 'x'.repeat(2000),
      longInArray: ['y'.repeat(600), 'short'],
    };
    const root = s.write((t) => t.docPut(doc));
    expect(root[0]).toBe(1);
    expect(s.read((t) => t.docGet(root))).toEqual(doc);
    const arr = s.write((t) => t.docPut([3, 2, 1, { k: 'v' }]));
    expect(arr[0]).toBe(2);
    expect(s.read((t) => t.docGet(arr))).toEqual([3, 2, 1, { k: 'v' }]);
    await s.close();
  });

  it('keeps array order with more than 256 elements (big-endian index prefix)', async () => {
    const s = openStore(tmpDir());
    const arr = Array.from({ length: 300 }, (_, i) => 299 - i);
    const p = s.write((t) => t.docPut({ arr }));
    expect(s.read((t) => t.docGet(p))).toEqual({ arr });
    await s.close();
  });

  it('stores objects as linked entities with kind-prefixed values', async () => {
    const s = openStore(tmpDir());
    const p = s.write((t) => t.docPut({ a: 1, child: { b: 2 } }));
    s.read((t) => {
      const a = t.memberGet(p, 'a');
      expect(a[0]).toBe(KIND_SCALAR);
      expect(a.subarray(1)).toEqual(Buffer.from([0x01]));
      const ref = t.memberGet(p, 'child');
      expect(ref[0]).toBe(KIND_REF);
      expect(ref.length).toBe(18);
      expect(t.docGet(ref.subarray(1))).toEqual({ b: 2 });
    });
    await s.close();
  });

  it('rebuilds binary member names as a Map with Buffer keys', async () => {
    const s = openStore(tmpDir());
    const input = new Map<Buffer, unknown>([
      [Buffer.from([0xff, 0x00]), 1],
      [Buffer.from('ok'), { inner: true }],
    ]);
    const p = s.write((t) => t.docPut(input));
    const out = s.read((t) => t.docGet(p)) as Map<Buffer, unknown>;
    expect(out).toBeInstanceOf(Map);
    expect([...out.entries()]).toEqual([
      [Buffer.from('ok'), { inner: true }],
      [Buffer.from([0xff, 0x00]), 1],
    ]);
    await s.close();
  });

  it('rejects bad documents with an LmjError and writes nothing', async () => {
    const s = openStore(tmpDir());
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(errCode(() => s.write((t) => t.docPut(cyclic)))).toBe('INVALID_PARAM');
    expect(errCode(() => s.write((t) => t.docPut({ '': 1 })))).toBe('EMPTY_KEY');
    expect(errCode(() => s.write((t) => t.docPut({ ['k'.repeat(494)]: 1 })))).toBe('MEMBER_TOO_LONG');
    expect(errCode(() => s.write((t) => t.docPut({ f: () => 1 })))).toBe('UNSUPPORTED_VALUE');
    expect(errCode(() => s.write((t) => t.docPut(5)))).toBe('NOT_AN_OBJECT');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(errCode(() => s.write((t) => t.docPut(deep)))).toBe('TOO_DEEP');
    expect(s.stat().mainEntries).toBe(0);
    // Refused deep inside, caught by the caller, transaction committed: still nothing written.
    const kept = s.write((t) => {
      expect(errCode(() => t.docPut({ a: 1, b: { c: 2, d: { ['e'.repeat(600)]: 3 } } }))).toBe('MEMBER_TOO_LONG');
      return t.docPut({ ok: true });
    });
    expect(s.read((t) => t.docGet(kept))).toEqual({ ok: true });
    expect(s.stat().mainEntries).toBe(1);
    await s.close();
  });
});
