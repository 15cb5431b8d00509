import { describe, expect, it } from 'vitest';
import { openStore, type LmjStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode } from './helpers.js';

function store(): LmjStore {
  return openStore(tmpDir());
}

const b = (s: string): Buffer => Buffer.from(s);

/** A set with elements a..j. */
function letters(s: LmjStore): Buffer {
  return s.write((t) => {
    const p = t.setCreate();
    for (const c of 'jihgfedcba') t.setAdd(p, c);
    return p;
  });
}

describe('sets', () => {
  it('creates an empty set that exists with zero elements', async () => {
    const s = store();
    const p = s.write((t) => t.setCreate());
    expect(p[0]).toBe(2);
    s.read((t) => {
      expect(t.exists(p)).toBe(true);
      expect(t.setCount(p)).toBe(0);
      expect(t.setGet(p)).toEqual({ elements: [], errors: [] });
      expect(t.setRange(p)).toEqual([]);
    });
    await s.close();
  });

  it('adds, rejects duplicates with MEMBER_EXISTS, puts idempotently, returns byte order', async () => {
    const s = store();
    const p = s.write((t) => t.setCreate());
    s.write((t) => {
      t.setAdd(p, Buffer.from([0xff]));
      t.setAdd(p, Buffer.from([0x00, 0x01]));
      t.setAdd(p, 'm');
    });
    expect(errCode(() => s.write((t) => t.setAdd(p, 'm')))).toBe('MEMBER_EXISTS');
    expect(s.write((t) => t.setPut(p, 'm'))).toBe(false);
    expect(s.write((t) => t.setPut(p, 'n'))).toBe(true);
    s.read((t) => {
      expect(t.setGet(p).elements).toEqual([Buffer.from([0x00, 0x01]), b('m'), b('n'), Buffer.from([0xff])]);
      expect(t.setCount(p)).toBe(4);
    });
    await s.close();
  });

  it('answers contains exactly (not "any element of a non-empty set")', async () => {
    const s = store();
    const p = letters(s);
    s.read((t) => {
      expect(t.setContains(p, 'c')).toBe(true);
      expect(t.setContains(p, 'cc')).toBe(false);
      expect(t.setContains(p, 'z')).toBe(false);
      expect(t.setContains(p, Buffer.from([0]))).toBe(false);
    });
    await s.close();
  });

  it('accepts a 511-byte element and rejects 512 bytes and empty elements', async () => {
    const s = store();
    const p = s.write((t) => t.setCreate());
    s.write((t) => t.setAdd(p, Buffer.alloc(511, 7)));
    expect(errCode(() => s.write((t) => t.setAdd(p, Buffer.alloc(512, 7))))).toBe('MEMBER_TOO_LONG');
    expect(errCode(() => s.write((t) => t.setAdd(p, Buffer.alloc(0))))).toBe('INVALID_PARAM');
    s.read((t) => expect(t.setGet(p).elements.map((e) => e.length)).toEqual([511]));
    await s.close();
  });

  it('keeps the set existing after removing every element (marker put back)', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.setCreate();
      t.setAdd(p, 'x');
      t.setAdd(p, 'y');
      return p;
    });
    s.write((t) => {
      t.setRemove(p, 'x');
      t.setRemove(p, 'y');
    });
    s.read((t) => {
      expect(t.exists(p)).toBe(true);
      expect(t.setCount(p)).toBe(0);
      expect(t.setGet(p)).toEqual({ elements: [], errors: [] });
    });
    expect(errCode(() => s.write((t) => t.setRemove(p, 'x')))).toBe('MEMBER_NOT_FOUND');
    s.write((t) => t.setAdd(p, 'z'));
    s.read((t) => expect(t.setGet(p).elements).toEqual([b('z')]));
    await s.close();
  });

  it('deletes a set; reads of a missing set report ENTITY_NOT_FOUND', async () => {
    const s = store();
    const p = letters(s);
    s.write((t) => t.setDel(p));
    s.read((t) => {
      expect(t.exists(p)).toBe(false);
      expect(t.setGet(p)).toEqual({ elements: [], errors: [{ code: 'ENTITY_NOT_FOUND', ptr: p }] });
      expect(errCode(() => t.setCount(p))).toBe('ENTITY_NOT_FOUND');
      expect(t.setContains(p, 'a')).toBe(false);
    });
    expect(errCode(() => s.write((t) => t.setAdd(p, 'a')))).toBe('ENTITY_NOT_FOUND');
    await s.close();
  });

  it('ranges: from inclusive, to exclusive, after exclusive, limit, reverse', async () => {
    const s = store();
    const p = letters(s);
    const r = (o: Parameters<import('../../../src/core/index.js').ReadTxn['setRange']>[1]): string =>
      s.read((t) => t.setRange(p, o).map(String).join(''));
    expect(r({})).toBe('abcdefghij');
    expect(r({ from: 'c', to: 'f' })).toBe('cde');
    expect(r({ from: 'cc', to: 'ff' })).toBe('def');
    expect(r({ from: 'c', limit: 2 })).toBe('cd');
    expect(r({ after: 'c', limit: 3 })).toBe('def');
    expect(r({ from: 'e', after: 'c' })).toBe('efghij');
    expect(r({ from: 'a', after: 'h', to: 'j' })).toBe('i');
    expect(r({ reverse: true })).toBe('jihgfedcba');
    expect(r({ reverse: true, from: 'c', to: 'f' })).toBe('edc');
    expect(r({ reverse: true, limit: 3 })).toBe('jih');
    expect(r({ reverse: true, after: 'h', limit: 2 })).toBe('gf');
    expect(r({ reverse: true, after: 'h', to: 'e' })).toBe('dcba');
    expect(r({ from: 'x' })).toBe('');
    expect(r({ limit: 0 })).toBe('');
    expect(errCode(() => r({ limit: -1 }))).toBe('INVALID_PARAM');
    await s.close();
  });

  it('pages through a range with after (cursor paging) without gaps or repeats', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.setCreate();
      for (let i = 0; i < 250; i++) {
        const el = Buffer.alloc(8);
        el.writeBigUInt64BE(BigInt(1_700_000_000_000 + i * 1000));
        t.setAdd(p, el);
      }
      return p;
    });
    const seen: bigint[] = [];
    let after: Buffer | undefined;
    for (;;) {
      const page = s.read((t) => t.setRange(p, after === undefined ? { limit: 40 } : { after, limit: 40 }));
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.readBigUInt64BE()));
      after = page[page.length - 1];
    }
    expect(seen.length).toBe(250);
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1]!)).toBe(true);
    await s.close();
  });
});
