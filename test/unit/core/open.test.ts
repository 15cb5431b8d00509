import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lmdbWritesFormatV1, openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { errCode } from './helpers.js';

describe('opening an instance', () => {
  it('runs on an lmdb-js build that writes LMDB data format v1', () => {
    expect(lmdbWritesFormatV1()).toBe(true);
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
});
