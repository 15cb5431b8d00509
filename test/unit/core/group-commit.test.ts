import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openStore, type LmjStore, type OpenOptions } from '../../../src/core/index.js';
import { isLmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { rejectCode } from './helpers.js';

const VALUE = Buffer.alloc(1000, 0xcd);

function open(options: OpenOptions = {}): LmjStore {
  return openStore(tmpDir(), options);
}

/** A writeAsync that creates one object with `members` 1000-byte members. */
function bigObject(s: LmjStore, members: number): Promise<Buffer> {
  return s.writeAsync((t) => {
    const p = t.objCreate();
    for (let m = 0; m < members; m++) t.memberPut(p, `m${m}`, VALUE);
    return p;
  });
}

describe('writeAsync (grouped commits off the main thread)', () => {
  it('a read right after the promise resolves sees the write; a throwing callback is rolled back alone', async () => {
    const s = open();
    const p = await s.writeAsync((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'n', '1');
      return p;
    });
    expect(s.read((t) => t.memberGet(p, 'n').toString())).toBe('1');
    const [a, b, c] = await Promise.allSettled([
      s.writeAsync((t) => t.memberPut(p, 'a', 'x')),
      s.writeAsync((t) => {
        t.memberPut(p, 'b', 'x');
        throw new Error('no');
      }),
      s.writeAsync((t) => t.memberPut(p, 'c', 'x')),
    ]);
    expect([a.status, b.status, c.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(s.read((t) => t.memberList(p).map(String).sort())).toEqual(['a', 'c', 'n']);
    // A lone throwing callback leaves nothing behind either.
    const lone = s.writeAsync((t) => {
      t.memberPut(p, 'd', 'x');
      return t.memberGet(p, 'zz');
    });
    expect(await rejectCode(lone)).toBe('MEMBER_NOT_FOUND');
    expect(s.read((t) => t.memberValue(p, 'd'))).toBeUndefined();
    await s.close();
  });

  it('sync writes interleave with in-flight async commits; close drains them', async () => {
    const s = open();
    const pending = Array.from({ length: 20 }, (_, i) => s.writeAsync((t) => t.memberPut(t.objCreate(), 'i', String(i))));
    const syncPtrs: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      syncPtrs.push(s.write((t) => t.objCreate()));
      await new Promise((r) => setImmediate(r));
    }
    const closed = s.close();
    const ptrs = await Promise.all(pending);
    await closed;
    const again = openStore(s.path);
    again.read((t) => {
      for (const p of [...syncPtrs]) expect(t.exists(p)).toBe(true);
    });
    expect(again.stat().mainEntries).toBe(ptrs.length);
    await again.close();
  });

  it('grows the map from writeAsync alone, then from a sync write, without leaking descriptors', async () => {
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const s = open({ mapSize: 128 * 1024 });
    const ptrs = await Promise.all(Array.from({ length: 6 }, () => bigObject(s, 400)));
    ptrs.push(...(await Promise.all(Array.from({ length: 3 }, () => bigObject(s, 400)))));
    // A sync write after async commits: it may report the map as growing once, then succeeds at the bigger size.
    let syncPtr: Buffer | undefined;
    for (let attempt = 0; syncPtr === undefined && attempt < 20; attempt++) {
      try {
        syncPtr = s.write((t) => {
          const p = t.objCreate();
          for (let m = 0; m < 2000; m++) t.memberPut(p, `m${m}`, VALUE);
          return p;
        });
      } catch (error) {
        expect(isLmjError(error) && error.code).toBe('STORE_IO');
        await s.writeAsync(() => undefined);
      }
    }
    expect(syncPtr).toBeDefined();
    const st = s.stat();
    expect(st.usedBytes).toBeGreaterThan(20 * 128 * 1024);
    s.read((t) => {
      for (const p of ptrs) expect(t.objGet(p).members.length).toBe(400);
      expect(t.objGet(syncPtr!).members.length).toBe(2000);
    });
    await s.close();
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fdsBefore + 1);
  });
});
