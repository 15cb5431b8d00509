/**
 * `objCreateWith`: one call that writes a new object's members in key order must leave
 * exactly the bytes (mdb_dump) and entry counts (mdb_stat) of `objRegister` plus one
 * `memberPut` per member in any order, validate everything before writing, and fill
 * pages better than the unsorted order it replaces.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/core/index.js';
import type { WriteTxn } from '../../../src/core/types.js';
import { errCode } from '../../unit/core/helpers.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** Object pointers in partition 7, increasing like the ones a device's readings get. */
const ptrOf = (i: number): Buffer => Buffer.from('01' + '0007' + '00000000000a' + i.toString(16).padStart(16, '0'), 'hex');

/** Unsorted names (as a reading's `$ts`/`$id` came after its paths), one repeated: last value wins. */
const NAMES = ['temp', 'hum', '$ts', 'boot', 'dev', 'hum', '$id', 'a.b[0]'];
const valueOf = (i: number, j: number): Buffer => Buffer.from(`v${i}-${j}`);

function dump(dir: string, db: string): string {
  return execFileSync('mdb_dump', ['-s', db, dir], { encoding: 'utf8' }).replace(/^mapsize=.*$/m, '');
}

function entries(dir: string): string[] {
  return [...execFileSync('mdb_stat', ['-a', dir], { encoding: 'utf8' }).matchAll(/Entries: (\d+)/g)].map((m) => m[1]!);
}

function mainLeafPages(dir: string): number {
  const out = execFileSync('mdb_stat', ['-s', 'main', dir], { encoding: 'utf8' });
  return Number(/Leaf pages: (\d+)/.exec(out)![1]);
}

async function writeObjects(dir: string, count: number, write: (t: WriteTxn, ptr: Buffer, i: number) => void): Promise<void> {
  const s = openStore(dir, { durability: 'fast', partition: 7 });
  for (let i = 0; i < count; i += 50) {
    s.write((t) => {
      for (let k = i; k < Math.min(count, i + 50); k++) write(t, ptrOf(k), k);
    });
  }
  await s.close();
}

describe('objCreateWith', () => {
  it('writes the same bytes and counts as objRegister + memberPut, in fewer pages', async () => {
    const one = tmpDir();
    const each = tmpDir();
    const count = 2000;
    await writeObjects(one, count, (t, ptr, i) => t.objCreateWith(ptr, NAMES, NAMES.map((_, j) => valueOf(i, j))));
    await writeObjects(each, count, (t, ptr, i) => {
      t.objRegister(ptr);
      NAMES.forEach((name, j) => t.memberPut(ptr, name, valueOf(i, j)));
    });
    expect(dump(one, 'main')).toBe(dump(each, 'main'));
    expect(dump(one, 'set')).toBe(dump(each, 'set'));
    expect(dump(one, 'main')).toContain(Buffer.from(`v${count - 1}-5`).toString('hex'));
    expect(dump(one, 'main')).not.toContain(Buffer.from(`v${count - 1}-1`).toString('hex'));
    expect(entries(one)).toEqual(entries(each));
    // Key order makes every insert an append: LMDB splits full pages instead of halves.
    expect(mainLeafPages(one)).toBeLessThan(mainLeafPages(each) * 0.85);
  });

  it('validates every name before writing, and adds to an existing object', () => {
    const s = openStore(tmpDir(), { partition: 7 });
    const ptr = ptrOf(1);
    s.write((t) => {
      expect(errCode(() => t.objCreateWith(ptr, ['ok', 'x'.repeat(494)], ['1', '2']))).toBe('MEMBER_TOO_LONG');
      expect(errCode(() => t.objCreateWith(ptr, ['ok', ''], ['1', '2']))).toBe('INVALID_PARAM');
      expect(errCode(() => t.objCreateWith(ptr, ['ok'], []))).toBe('INVALID_PARAM');
      expect(t.exists(ptr)).toBe(false);
      t.objCreateWith(ptr, ['b'], ['1']);
      t.objCreateWith(ptr, ['a', 'b'], ['2', '3']);
      t.objCreateWith(ptrOf(2), [], []);
    });
    s.read((t) => {
      expect(t.objGet(ptr).members.map((m) => `${m.name.toString()}=${m.value.toString()}`)).toEqual(['a=2', 'b=3']);
      expect(t.exists(ptrOf(2))).toBe(true);
      expect(t.memberList(ptrOf(2))).toEqual([]);
    });
    void s.close();
  });
});
