import { describe, expect, it } from 'vitest';
import { openStore, ROOT_PTR, type LmjStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode } from './helpers.js';

function store(): LmjStore {
  return openStore(tmpDir());
}

describe('objects', () => {
  it('creates an object, writes and reads members in byte order', async () => {
    const s = store();
    const ptr = s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'b', 'B');
      t.memberPut(p, 'a', Buffer.from([1, 2]));
      return p;
    });
    expect(ptr.length).toBe(17);
    expect(ptr[0]).toBe(1);
    s.read((t) => {
      expect(t.exists(ptr)).toBe(true);
      const r = t.objGet(ptr);
      expect(r.errors).toEqual([]);
      expect(r.members.map((m) => m.name.toString())).toEqual(['a', 'b']);
      expect(r.members[1]!.value.toString()).toBe('B');
      expect(t.memberGet(ptr, 'a')).toEqual(Buffer.from([1, 2]));
      expect(t.memberValue(ptr, 'a')).toEqual(Buffer.from([1, 2]));
      expect(t.memberValue(ptr, 'zz')).toBeUndefined();
      expect(t.memberList(ptr).map(String)).toEqual(['a', 'b']);
    });
    await s.close();
  });

  it('overwrites a member value without duplicating its registration', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'a', '1');
      t.memberPut(p, 'a', '2');
      return p;
    });
    s.read((t) => {
      expect(t.memberList(p).map(String)).toEqual(['a']);
      expect(t.memberGet(p, 'a').toString()).toBe('2');
    });
    await s.close();
  });

  it('registers a fixed root pointer once and keeps the empty object existing', async () => {
    const s = store();
    s.write((t) => {
      t.objRegister(ROOT_PTR);
      t.objRegister(ROOT_PTR);
    });
    s.read((t) => {
      expect(t.exists(ROOT_PTR)).toBe(true);
      expect(t.objGet(ROOT_PTR)).toEqual({ members: [], errors: [] });
      expect(t.memberList(ROOT_PTR)).toEqual([]);
    });
    await s.close();
  });

  it('reports missing values and missing entities in errors, not thrown', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.objCreate();
      t.memberRegister(p, 'x');
      t.memberPut(p, 'y', '1');
      return p;
    });
    const absent = Buffer.from(p);
    absent[16] = absent[16]! ^ 0xff;
    s.read((t) => {
      const r = t.objGet(p);
      expect(r.members.map((m) => m.name.toString())).toEqual(['y']);
      expect(r.errors).toEqual([{ code: 'MEMBER_MISSING', ptr: p, name: Buffer.from('x') }]);
      expect(errCode(() => t.memberGet(p, 'x'))).toBe('MEMBER_MISSING');
      expect(errCode(() => t.memberGet(p, 'nope'))).toBe('MEMBER_NOT_FOUND');
      expect(t.objGet(absent)).toEqual({ members: [], errors: [{ code: 'ENTITY_NOT_FOUND', ptr: absent }] });
      expect(errCode(() => t.memberGet(absent, 'x'))).toBe('ENTITY_NOT_FOUND');
      expect(errCode(() => t.memberList(absent))).toBe('ENTITY_NOT_FOUND');
      expect(t.exists(absent)).toBe(false);
    });
    await s.close();
  });

  it('stores binary member names: zero bytes and invalid UTF-8', async () => {
    const s = store();
    const names = [Buffer.from([0x00]), Buffer.from([0x00, 0x00, 0x01]), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from([0xc3])];
    const p = s.write((t) => {
      const p = t.objCreate();
      names.forEach((n, i) => t.memberPut(p, n, Buffer.from([i])));
      return p;
    });
    s.read((t) => {
      const got = t.objGet(p).members;
      const sorted = [...names].sort(Buffer.compare);
      expect(got.map((m) => m.name)).toEqual(sorted);
      for (const [i, n] of names.entries()) expect(t.memberGet(p, n)).toEqual(Buffer.from([i]));
    });
    await s.close();
  });

  it('accepts a 493-byte name and rejects 494 bytes and an empty name, writing nothing', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    s.write((t) => t.memberPut(p, Buffer.alloc(493, 0x61), 'ok'));
    expect(errCode(() => s.write((t) => t.memberPut(p, Buffer.alloc(494, 0x61), 'no')))).toBe('MEMBER_TOO_LONG');
    expect(errCode(() => s.write((t) => t.memberPut(p, '', 'no')))).toBe('INVALID_PARAM');
    s.read((t) => {
      expect(t.memberList(p).map((n) => n.length)).toEqual([493]);
    });
    await s.close();
  });

  it('deletes members value-then-name and keeps the object existing after the last one', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'a', '1');
      t.memberPut(p, 'b', '2');
      return p;
    });
    s.write((t) => {
      t.memberDel(p, 'a');
      t.memberDel(p, 'b');
    });
    s.read((t) => {
      expect(t.exists(p)).toBe(true);
      expect(t.objGet(p)).toEqual({ members: [], errors: [] });
    });
    expect(errCode(() => s.write((t) => t.memberDel(p, 'a')))).toBe('MEMBER_NOT_FOUND');
    // The object keeps working after the marker came back.
    s.write((t) => t.memberPut(p, 'c', '3'));
    s.read((t) => expect(t.memberList(p).map(String)).toEqual(['c']));
    await s.close();
  });

  it('deletes only a value with memberValueDel (registration stays: missing value)', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'a', '1');
      return p;
    });
    s.write((t) => t.memberValueDel(p, 'a'));
    s.read((t) => {
      expect(t.objGet(p).errors).toEqual([{ code: 'MEMBER_MISSING', ptr: p, name: Buffer.from('a') }]);
    });
    expect(errCode(() => s.write((t) => t.memberValueDel(p, 'zz')))).toBe('MEMBER_NOT_FOUND');
    await s.close();
  });

  it('deletes a whole object: values and registration', async () => {
    const s = store();
    const [p, q] = s.write((t) => {
      const p = t.objCreate();
      const q = t.objCreate();
      for (const n of ['a', 'b', 'c']) t.memberPut(p, n, n);
      t.memberPut(q, 'keep', 'me');
      return [p, q];
    });
    s.write((t) => t.objDel(p));
    s.read((t) => {
      expect(t.exists(p)).toBe(false);
      expect(t.memberValue(p, 'a')).toBeUndefined();
      expect(t.audit()).toEqual([]);
      expect(t.memberGet(q, 'keep').toString()).toBe('me');
    });
    expect(errCode(() => s.write((t) => t.objDel(p)))).toBe('ENTITY_NOT_FOUND');
    expect(errCode(() => s.write((t) => t.memberPut(p, 'a', '1')))).toBe('ENTITY_NOT_FOUND');
    await s.close();
  });

  it('reads its own uncommitted writes inside a write transaction', async () => {
    const s = store();
    s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'b', '2');
      t.memberRegister(p, 'a');
      const r = t.objGet(p);
      expect(r.members.map((m) => [m.name.toString(), m.value.toString()])).toEqual([['b', '2']]);
      expect(r.errors).toEqual([{ code: 'MEMBER_MISSING', ptr: p, name: Buffer.from('a') }]);
      const set = t.setCreate();
      t.setAdd(set, 'x');
      expect(t.setRange(set).map(String)).toEqual(['x']);
      expect(t.docGet(t.docPut({ k: [1, { z: null }] }))).toEqual({ k: [1, { z: null }] });
    });
    await s.close();
  });

  it('rejects bad pointers and type mismatches', async () => {
    const s = store();
    const set = s.write((t) => t.setCreate());
    s.read((t) => {
      expect(errCode(() => t.exists(Buffer.alloc(16, 1)))).toBe('INVALID_POINTER');
      expect(errCode(() => t.exists(Buffer.alloc(17, 3)))).toBe('INVALID_POINTER');
      expect(errCode(() => t.objGet(set))).toBe('ENTITY_TYPE_MISMATCH');
      expect(errCode(() => t.exists(undefined as unknown as Buffer))).toBe('NULL_POINTER');
    });
    await s.close();
  });
});
