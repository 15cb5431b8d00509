import { describe, expect, it } from 'vitest';
import { openStore, ROOT_PTR, type LmjStore } from '../../../src/core/index.js';
import { isLmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

function store(): LmjStore {
  const s = openStore(tmpDir());
  return s;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isLmjError(e) ? e.code : `not LmjError: ${String(e)}`;
  }
  return undefined;
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
      expect(t.memberValue(ptr, 'zz')).toBeUndefined();
      expect(t.memberList(ptr).map(String)).toEqual(['a', 'b']);
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
      expect(code(() => t.memberGet(p, 'x'))).toBe('MEMBER_MISSING');
      expect(code(() => t.memberGet(p, 'nope'))).toBe('MEMBER_NOT_FOUND');
      expect(t.objGet(absent)).toEqual({ members: [], errors: [{ code: 'ENTITY_NOT_FOUND', ptr: absent }] });
      expect(code(() => t.memberGet(absent, 'x'))).toBe('ENTITY_NOT_FOUND');
      expect(code(() => t.memberList(absent))).toBe('ENTITY_NOT_FOUND');
    });
    await s.close();
  });
});
