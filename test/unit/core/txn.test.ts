import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openStore, type LmjStore, type ReadTxn, type WriteTxn } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode, rejectCode } from './helpers.js';

function store(options: Parameters<typeof openStore>[1] = {}): LmjStore {
  return openStore(tmpDir(), options);
}

describe('transactions', () => {
  it('throws READONLY_TXN for every write in a read transaction', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    const set = s.write((t) => t.setCreate());
    s.read((r) => {
      const t = r as WriteTxn;
      const writes: (() => unknown)[] = [
        () => t.objCreate(),
        () => t.objRegister(p),
        () => t.memberPut(p, 'a', 'b'),
        () => t.memberRegister(p, 'a'),
        () => t.memberValueDel(p, 'a'),
        () => t.memberDel(p, 'a'),
        () => t.objDel(p),
        () => t.setCreate(),
        () => t.setRegister(set),
        () => t.setAdd(set, 'x'),
        () => t.setPut(set, 'x'),
        () => t.setRemove(set, 'x'),
        () => t.setDel(set),
        () => t.repair([]),
        () => t.docPut({ a: 1 }),
      ];
      for (const w of writes) expect(errCode(w)).toBe('READONLY_TXN');
      expect(errCode(() => t.child(() => 1))).toBe('READONLY_PARENT');
    });
    s.read((t) => expect(t.exists(p) && t.memberList(p).length === 0 && t.setCount(set) === 0).toBe(true));
    await s.close();
  });

  it('throws TXN_FINISHED when a transaction is used after its callback returned', async () => {
    const s = store();
    let kept: WriteTxn | undefined;
    let keptRead: ReadTxn | undefined;
    const p = s.write((t) => {
      kept = t;
      return t.objCreate();
    });
    s.read((t) => {
      keptRead = t;
    });
    expect(errCode(() => kept!.memberPut(p, 'a', 'b'))).toBe('TXN_FINISHED');
    expect(errCode(() => kept!.exists(p))).toBe('TXN_FINISHED');
    expect(errCode(() => keptRead!.exists(p))).toBe('TXN_FINISHED');
    await s.close();
  });

  it('rolls back a whole write transaction when its callback throws', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    expect(() =>
      s.write((t) => {
        t.memberPut(p, 'a', '1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    s.read((t) => expect(t.memberList(p)).toEqual([]));
    await s.close();
  });

  it('child transaction: a throw aborts the child only; a success is kept', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    s.write((t) => {
      t.memberPut(p, 'parent', '1');
      expect(() =>
        t.child((c) => {
          c.memberPut(p, 'child-bad', '2');
          expect(c.memberValue(p, 'child-bad')?.toString()).toBe('2');
          throw new Error('child fails');
        }),
      ).toThrow('child fails');
      expect(t.memberValue(p, 'child-bad')).toBeUndefined();
      const r = t.child((c) => {
        c.memberPut(p, 'child-ok', '3');
        return 42;
      });
      expect(r).toBe(42);
      // The parent is suspended while a child runs.
      t.child(() => {
        expect(errCode(() => t.memberPut(p, 'x', 'y'))).toBe('TXN_FINISHED');
      });
    });
    s.read((t) => expect(t.memberList(p).map(String)).toEqual(['child-ok', 'parent']));
    await s.close();
  });

  it('rejects callbacks that return a promise, without writing', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    expect(
      errCode(() =>
        s.write(async (t) => {
          t.memberPut(p, 'a', '1');
        }),
      ),
    ).toBe('INVALID_PARAM');
    s.read((t) => expect(t.memberList(p)).toEqual([]));
    await s.close();
  });

  it('writeAsync groups callbacks into one commit and isolates a failing one', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    const results = await Promise.allSettled([
      s.writeAsync((t) => {
        t.memberPut(p, 'a', '1');
        return 'A';
      }),
      s.writeAsync((t) => {
        t.memberPut(p, 'half', 'written');
        t.memberPut(p, Buffer.alloc(600), 'too long');
        return 'never';
      }),
      s.writeAsync((t) => {
        t.memberPut(p, 'c', '3');
        throw new Error('plain failure');
      }),
      s.writeAsync((t) => {
        t.memberPut(p, 'd', '4');
        return 'D';
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<string>).value).toBe('A');
    expect(((results[1] as PromiseRejectedResult).reason as { code: string }).code).toBe('MEMBER_TOO_LONG');
    expect(((results[2] as PromiseRejectedResult).reason as Error).message).toBe('plain failure');
    s.read((t) => expect(t.memberList(p).map(String)).toEqual(['a', 'd']));
    await s.close();
  });

  it('writeAsync with a single failing callback rejects it and writes nothing', async () => {
    const s = store();
    const p = s.write((t) => t.objCreate());
    const err = await rejectCode(
      s.writeAsync((t) => {
        t.memberPut(p, 'a', '1');
        t.memberPut(p, Buffer.alloc(0), '1');
      }),
    );
    expect(err).toBe('INVALID_PARAM');
    s.read((t) => expect(t.memberList(p)).toEqual([]));
    await s.close();
  });

  it('grows the map on demand far beyond the initial mapSize, without leaking descriptors', async () => {
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const s = store({ mapSize: 256 * 1024 });
    const value = Buffer.alloc(1000, 0xab);
    const ptrs: Buffer[] = [];
    // ~6 MB of values in sync writes, then more through writeAsync: ~24x the initial map.
    for (let i = 0; i < 6; i++) {
      ptrs.push(
        s.write((t) => {
          const p = t.objCreate();
          for (let m = 0; m < 1000; m++) t.memberPut(p, `m${m}`, value);
          return p;
        }),
      );
    }
    const more = await Promise.all(
      Array.from({ length: 4 }, () =>
        s.writeAsync((t) => {
          const p = t.objCreate();
          for (let m = 0; m < 500; m++) t.memberPut(p, `m${m}`, value);
          return p;
        }),
      ),
    );
    const st = s.stat();
    expect(st.usedBytes).toBeGreaterThan(24 * 256 * 1024);
    expect(st.mapSize).toBeGreaterThanOrEqual(st.usedBytes);
    s.read((t) => {
      for (const p of ptrs) expect(t.objGet(p).members.length).toBe(1000);
      for (const p of more) expect(t.objGet(p).members.length).toBe(500);
    });
    await s.close();
    // Each growth closes the old environment for real (data.mdb, lock.mdb fds and the map).
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fdsBefore + 1);
    const again = openStore(st.path);
    again.read((t) => expect(t.memberGet(ptrs[0]!, 'm999')).toEqual(value));
    await again.close();
  });

  it('stat counts entries; a closed store refuses work with STORE_CLOSED', async () => {
    const s = store();
    const p = s.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'a', '1');
      t.memberPut(p, 'b', '2');
      return p;
    });
    const st = s.stat();
    expect(st).toMatchObject({ mainEntries: 2, durability: 'safe' });
    // LMDB's own entry count (as mdb_stat prints it) still counts the dropped existence marker.
    expect(st.setEntries).toBe(3);
    expect(st.usedBytes).toBeGreaterThan(0);
    await s.close();
    expect(errCode(() => s.read((t) => t.exists(p)))).toBe('STORE_CLOSED');
    expect(errCode(() => s.write((t) => t.objCreate()))).toBe('STORE_CLOSED');
    expect(await rejectCode(s.writeAsync((t) => t.objCreate()))).toBe('STORE_CLOSED');
  });

  it('fast durability commits and survives close/reopen', async () => {
    const dir = tmpDir();
    const s = openStore(dir, { durability: 'fast', flushIntervalMs: 50 });
    expect(s.durability).toBe('fast');
    const p = await s.writeAsync((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'a', '1');
      return p;
    });
    await s.close();
    const r = openStore(dir, { readOnly: true });
    r.read((t) => expect(t.memberGet(p, 'a').toString()).toBe('1'));
    expect(errCode(() => r.write((t) => t.objCreate()))).toBe('READONLY_TXN');
    await r.close();
  });

  it('refuses a nested store.write (txn.child is the way to nest) and bad options', async () => {
    const s = store();
    expect(errCode(() => s.write(() => s.write((t) => t.objCreate())))).toBe('INVALID_PARAM');
    const viaAsync = await rejectCode(s.writeAsync(() => s.write((t) => t.objCreate())));
    expect(viaAsync).toBe('INVALID_PARAM');
    expect(errCode(() => openStore(tmpDir(), { durability: 'eventually' as never }))).toBe('BAD_CONFIG');
    expect(errCode(() => openStore(tmpDir(), { partition: 70000 }))).toBe('INVALID_PARAM');
    expect(errCode(() => openStore(tmpDir(), { mapSize: 10 }))).toBe('INVALID_PARAM');
    expect(errCode(() => openStore(tmpDir(), { durability: 'fast', flushIntervalMs: 0 }))).toBe('INVALID_PARAM');
    expect(errCode(() => openStore(''))).toBe('INVALID_PARAM');
    await s.close();
  });

  it('close waits for queued writeAsync callbacks', async () => {
    const s = store();
    const pending = s.writeAsync((t) => t.objCreate());
    await s.close();
    const p = await pending;
    const again = openStore(s.path);
    again.read((t) => expect(t.exists(p)).toBe(true));
    await again.close();
  });
});
