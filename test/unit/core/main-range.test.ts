import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe('ReadTxn.mainRange', () => {
  it('walks main entries of consecutive objects in key order, bounded by [from, to)', async () => {
    const store = openStore(tmpDir(), { durability: 'fast', partition: 7 });
    try {
      const ptrs = store.write((t) => {
        const out: Buffer[] = [];
        for (let i = 0; i < 5; i++) {
          const p = t.objCreate();
          t.memberPut(p, 'b', Buffer.of(i));
          t.memberPut(p, 'a', Buffer.of(100 + i));
          out.push(p);
        }
        return out;
      });
      const [p0, p1, , p3] = ptrs as [Buffer, Buffer, Buffer, Buffer, Buffer];
      const seen = store.read((t) => [...t.mainRange(p1, p3)].map((e) => [e.key.subarray(0, 17).toString('hex'), e.key.subarray(17).toString(), e.value[0]]));
      expect(seen).toEqual([
        [p1.toString('hex'), 'a', 101], [p1.toString('hex'), 'b', 1],
        [(ptrs[2] as Buffer).toString('hex'), 'a', 102], [(ptrs[2] as Buffer).toString('hex'), 'b', 2],
      ]);
      const open = store.read((t) => [...t.mainRange(p0)].length);
      expect(open).toBe(10);
    } finally {
      await store.close();
    }
  });
});
