import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** Writes raw `main` keys with lmdb-js directly (no engine), as corruption would. */
async function injectRaw(dir: string, entries: [Buffer, Buffer][]): Promise<void> {
  const env = open(dir, { maxDbs: 4, overlappingSync: false } as never);
  const main = env.openDB('main', { keyEncoding: 'binary', encoding: 'binary' } as never);
  env.transactionSync(() => {
    for (const [k, v] of entries) main.putSync(k, v);
  });
  await env.close();
}

describe('audit and repair', () => {
  it('finds ghost members injected with raw lmdb writes and repairs them in one write transaction', async () => {
    const dir = tmpDir();
    let s = openStore(dir);
    const [p, q] = s.write((t) => {
      const p = t.objCreate();
      const q = t.objCreate();
      t.memberPut(p, 'ok', '1');
      t.memberRegister(p, 'missing');
      t.memberPut(q, 'fine', '2');
      return [p, q];
    });
    await s.close();
    const ghostName = Buffer.from([0x00, 0xff, 0x67]);
    await injectRaw(dir, [
      [Buffer.concat([p, ghostName]), Buffer.from('ghost-1')],
      [Buffer.concat([q, Buffer.from('zz')]), Buffer.from('ghost-2')],
    ]);
    s = openStore(dir);
    s.read((t) => {
      const all = t.audit();
      expect(all.map((g) => [g.ptr.toString('hex'), g.name.toString('hex'), g.value.toString()])).toEqual(
        [
          [p.toString('hex'), ghostName.toString('hex'), 'ghost-1'],
          [q.toString('hex'), Buffer.from('zz').toString('hex'), 'ghost-2'],
        ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
      expect(t.audit(p).map((g) => g.name)).toEqual([ghostName]);
      // A ghost is not a member: not listed, not in objGet.
      expect(t.objGet(p).members.map((m) => m.name.toString())).toEqual(['ok']);
    });
    // A failing repair transaction leaves every ghost in place (all or none).
    expect(() =>
      s.write((t) => {
        expect(t.repair()).toBe(2);
        throw new Error('abort after repair');
      }),
    ).toThrow('abort after repair');
    expect(s.read((t) => t.audit().length)).toBe(2);
    expect(s.write((t) => t.repair())).toBe(2);
    s.read((t) => {
      expect(t.audit()).toEqual([]);
      expect(t.memberGet(p, 'ok').toString()).toBe('1');
      expect(t.objGet(p).errors).toEqual([{ code: 'MEMBER_MISSING', ptr: p, name: Buffer.from('missing') }]);
      expect(t.memberGet(q, 'fine').toString()).toBe('2');
    });
    await s.close();
  });

  it('repair with an explicit list skips entries that were registered since the audit', async () => {
    const dir = tmpDir();
    let s = openStore(dir);
    const p = s.write((t) => t.objCreate());
    await s.close();
    await injectRaw(dir, [[Buffer.concat([p, Buffer.from('late')]), Buffer.from('v')]]);
    s = openStore(dir);
    const ghosts = s.read((t) => t.audit());
    expect(ghosts.length).toBe(1);
    s.write((t) => t.memberRegister(p, 'late'));
    expect(s.write((t) => t.repair(ghosts))).toBe(0);
    s.read((t) => expect(t.memberGet(p, 'late').toString()).toBe('v'));
    await s.close();
  });
});
