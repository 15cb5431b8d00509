import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lmdb from 'lmdb';
import { describe, expect, it } from 'vitest';
import { lmdbWritesFormatV1, openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode } from './helpers.js';

describe('opening an instance', () => {
  it('runs on an lmdb-js build that writes LMDB data format v1', () => {
    expect(lmdbWritesFormatV1()).toBe(true);
  });

  it('forgets a closed instance in the store registry of lmdb-js, and only its own entries', async () => {
    // lmdb-js keeps every store it opened in `allDbs` (by the directory's base name) and never
    // drops it: ~80 KiB per distinct instance for the life of the process (bench/instance-churn.ts).
    const allDbs = (lmdb as unknown as { allDbs: Map<string, unknown> }).allDbs;
    const base = tmpDir();
    const a = openStore(join(base, 'x', 'churn-dev'));
    a.read((t) => t.exists(Buffer.alloc(17, 1)));
    const keys = ['churn-dev', 'churn-dev-main', 'churn-dev-set'];
    for (const k of keys) expect(allDbs.has(k)).toBe(true);
    await a.close();
    for (const k of keys) expect(allDbs.has(k)).toBe(false);
    // A second instance with the same base name stays registered when the first one closes.
    const b = openStore(join(base, 'y', 'churn-dev'));
    const c = openStore(join(base, 'z', 'churn-dev'));
    await b.close();
    for (const k of keys) expect(allDbs.has(k)).toBe(true);
    await c.close();
    for (const k of keys) expect(allDbs.has(k)).toBe(false);
  });

  it('creates the directory with data.mdb and lock.mdb and reopens it', async () => {
    const dir = join(tmpDir(), 'nested', 'device-1');
    const s = openStore(dir);
    const p = s.write((t) => t.objCreate());
    await s.close();
    expect(readdirSync(dir).sort()).toEqual(['data.mdb', 'lock.mdb']);
    const again = openStore(dir);
    expect(again.read((t) => t.exists(p))).toBe(true);
    await again.close();
  });

  it('refuses bad locations and non-LMJCore files with STORE_OPEN_FAILED, leaking no descriptors', () => {
    const base = tmpDir();
    const fds = readdirSync('/proc/self/fd').length;
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a directory');
    expect(errCode(() => openStore(file))).toBe('STORE_OPEN_FAILED');
    const garbage = join(base, 'garbage');
    mkdirSync(garbage);
    writeFileSync(join(garbage, 'data.mdb'), Buffer.alloc(16384, 0x5a));
    expect(errCode(() => openStore(garbage))).toBe('STORE_OPEN_FAILED');
    expect(errCode(() => openStore(join(base, 'missing'), { readOnly: true }))).toBe('STORE_OPEN_FAILED');
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fds + 1);
  });

  it.each(['a.b', 'v1.2.3', 'x.mdb', 'sensor.2'])(
    'opens %s as a directory instance, never as a data file, leaving nothing beside it',
    async (name) => {
      const base = tmpDir();
      const dir = join(base, name);
      const s = openStore(dir);
      const p = s.write((t) => t.objCreate());
      await s.close();
      expect(readdirSync(base)).toEqual([name]);
      expect(readdirSync(dir).sort()).toEqual(['data.mdb', 'lock.mdb']);
      const again = openStore(dir, { readOnly: true });
      expect(again.read((t) => t.exists(p))).toBe(true);
      await again.close();
      expect(readdirSync(base)).toEqual([name]);
    },
  );

  it('opens an instance that liblmdb created at a dotted path', async () => {
    const base = tmpDir();
    const dir = join(base, 'v1.2.3');
    const ptr = Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16, 7)]);
    const dump = (db: string, rows: Buffer[], dup: boolean): string =>
      ['VERSION=3', 'format=bytevalue', `database=${db}`, 'type=btree', ...(dup ? ['duplicates=1', 'dupsort=1'] : []),
        'HEADER=END', ...rows.map((b) => ' ' + b.toString('hex')), 'DATA=END', ''].join('\n');
    mkdirSync(dir);
    execFileSync('mdb_load', ['-s', 'main', dir], {
      input: dump('main', [Buffer.concat([ptr, Buffer.from('t')]), Buffer.from('1')], false),
    });
    execFileSync('mdb_load', ['-s', 'set', dir], { input: dump('set', [ptr, Buffer.from('t')], true) });
    const s = openStore(dir);
    expect(s.read((t) => t.memberGet(ptr, 't')).toString()).toBe('1');
    await s.close();
    expect(existsSync(`${dir}-lock`)).toBe(false);
    expect(readdirSync(base)).toEqual(['v1.2.3']);
  });
});
