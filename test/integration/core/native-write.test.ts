/**
 * The addon's member writes (native/src/write.cc through src/core/native-write.ts) put
 * inside lmdb-js's own write transaction. They must leave exactly the bytes lmdb-js's
 * puts leave (the portable codec never uses them), keep the put results the engine
 * relies on (a set put reports whether the element was new), roll back with their
 * transaction, and turn every failure into an error of the one registry.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNativeCodec } from '../../../src/codec/native/index.js';
import { portableCodec } from '../../../src/codec/index.js';
import type { Codec } from '../../../src/codec/types.js';
import { openStore } from '../../../src/core/index.js';
import { isMapFull } from '../../../src/core/lmdb-errors.js';
import { closeHandles, openHandles } from '../../../src/core/lmdb-env.js';
import { NativeWriter } from '../../../src/core/native-write.js';
import type { WriteTxn } from '../../../src/core/types.js';
import { LmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const ptrOf = (type: number, i: number): Buffer =>
  Buffer.from(type.toString(16).padStart(2, '0') + '0007' + '00000000000a' + i.toString(16).padStart(16, '0'), 'hex');
/** Unsorted, one name twice (the last value wins), one of the longest allowed. */
const NAMES = ['temp', 'hum', '$ts', 'boot', 'hum', '$id', 'a.b[0]', 'n'.repeat(493)].map((n) => Buffer.from(n));
const valueOf = (i: number, j: number): Buffer => Buffer.from(`v${i}-${j}`.repeat(1 + (j % 3)));

function dump(dir: string, db: string): string {
  return execFileSync('mdb_dump', ['-s', db, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The same writes, in the same transactions, whichever codec the store has. */
async function writeAll(dir: string, codec: Codec): Promise<{ added: boolean[] }> {
  const s = openStore(dir, { durability: 'fast', partition: 7, codec, mapSize: 1024 * 1024 });
  const set = ptrOf(2, 1);
  const added: boolean[] = [];
  const objects = (t: WriteTxn, from: number, to: number): void => {
    for (let i = from; i < to; i++) t.objCreateWith(ptrOf(1, i), NAMES, NAMES.map((_, j) => valueOf(i, j)));
  };
  s.write((t) => {
    t.setRegister(set);
    objects(t, 0, 200);
  });
  // Grouped async commits (each callback in its own child transaction), one of which
  // throws after writing: its writes must vanish, the others commit. The map is small,
  // so the group runs again after growing.
  await Promise.all([
    s.writeAsync((t) => objects(t, 200, 800)),
    s.writeAsync((t) => {
      for (let i = 0; i < 300; i++) added.push(t.setPut(set, Buffer.concat([Buffer.alloc(8, i % 256), ptrOf(1, i)])));
      added.push(t.setPut(set, Buffer.alloc(511, 7)), t.setPut(set, Buffer.alloc(511, 7)));
    }),
    s.writeAsync((t) => {
      objects(t, 5000, 5010);
      throw new LmjError('INVALID_PARAM', 'rolled back');
    }).catch((e: unknown) => (e as LmjError).code),
  ]);
  s.write((t) => {
    for (let i = 0; i < 100; i++) t.memberPut(ptrOf(1, i), NAMES[i % NAMES.length]!, valueOf(i, 99));
    t.memberRegister(ptrOf(1, 3), Buffer.from('registered-only'));
    added.push(t.setPut(set, Buffer.concat([Buffer.alloc(8, 1), ptrOf(1, 1)])));
    // A child transaction that throws undoes its native writes.
    try {
      t.child((c) => {
        c.objCreateWith(ptrOf(1, 9000), NAMES, NAMES.map((_, j) => valueOf(9000, j)));
        throw new Error('undo');
      });
    } catch {
      // expected: the child's writes are gone
    }
  });
  await s.close();
  return { added };
}

describe('native member writes', () => {
  it('leave the same file and entries as lmdb-js puts, with the same put results', async () => {
    const native = createNativeCodec();
    expect(native.write).toBeDefined();
    const a = tmpDir();
    const b = tmpDir();
    const viaNative = await writeAll(a, native);
    const viaLmdbJs = await writeAll(b, portableCodec);
    expect(viaNative.added).toEqual(viaLmdbJs.added);
    expect(viaNative.added.filter((x) => x)).toHaveLength(301);
    expect(viaNative.added.slice(300)).toEqual([true, false, false]);
    const main = dump(a, 'main');
    expect(main).toBe(dump(b, 'main'));
    expect(dump(a, 'set')).toBe(dump(b, 'set'));
    expect(main).toContain(valueOf(799, 4).toString('hex'));
    expect(main).not.toContain(valueOf(5000, 0).toString('hex'));
    expect(main).not.toContain(valueOf(9000, 0).toString('hex'));
    expect(readFileSync(join(a, 'data.mdb')).equals(readFileSync(join(b, 'data.mdb')))).toBe(true);
  });

  it('turns statuses and LMDB failures into registry errors', async () => {
    const kernel = createNativeCodec().write!;
    const dir = tmpDir();
    const h = openHandles(dir, 'fast', 64 * 1024, false);
    try {
      const w = NativeWriter.of(kernel, h)!;
      expect(w).not.toBeNull();
      w.begin(ptrOf(1, 1), true);
      w.add(Buffer.from('x'), Buffer.from('y'));
      // No write transaction open: the addon refuses, nothing is written.
      expect(w.usable).toBe(false);
      expect(() => w.run()).toThrow(expect.objectContaining({ code: 'NO_WRITE_TXN', errno: -33630 }));
      // Out of map inside a transaction: MDB_MAP_FULL as STORE_IO, seen as map-full by the growth logic.
      let failure: unknown;
      try {
        h.main.transactionSync(() => {
          for (let i = 0; i < 100; i++) {
            w.begin(ptrOf(1, i), true);
            w.add(Buffer.from('big'), Buffer.alloc(4000, i));
            w.run();
          }
        });
      } catch (e) {
        failure = e;
      }
      expect(failure).toBeInstanceOf(LmjError);
      expect((failure as LmjError).code).toBe('STORE_IO');
      expect((failure as LmjError).details).toEqual({ lmdb: -30792 });
      expect((failure as LmjError).message).toContain('MDB_MAP_FULL');
      expect(isMapFull(failure)).toBe(true);
      // A malformed ops buffer (an entry running past the length) is INVALID_PARAM.
      const bad = Buffer.alloc(40);
      bad.writeUInt32LE(1, 18);
      bad.writeUInt16LE(10, 22);
      bad.writeUInt32LE(100, 24);
      h.main.transactionSync(() => {
        const env = (h.main as unknown as { env: { address: number } }).env;
        const dbi = (d: unknown): number => (d as { db: { dbi: number } }).db.dbi;
        expect(kernel.writeMembers(env.address, dbi(h.set), dbi(h.main), bad, bad.length)).toBe(-32000);
      });
    } finally {
      await closeHandles(h);
    }
  });
});
