/**
 * The instance verifier: a full walk of both databases in a child process, so a
 * corrupt page ends the child, never this process.
 */
import * as lmdb from 'lmdb';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../../src/core/index.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import { verifyInstance, verifyInstances } from '../../../../src/core/verify/index.js';
import { overwriteAllDataPages, overwriteMiddleLeaf, writeInstance } from '../../../helpers/corrupt-instance.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

describe('verifyInstance', () => {
  it('ok for an instance the gateway wrote, with the entry counts of both databases', async () => {
    const data = tmpDir();
    const ingestor = await createIngestor({ dataDir: data });
    for (let i = 0; i < 20; i++) {
      await ingestor.submit({ topic: 'devices/v-1/telemetry', payload: Buffer.from(JSON.stringify({ env: { t: i }, seq: i })), qos: 1 });
    }
    await ingestor.close();
    const v = await verifyInstance(`${data}/devices/v-1`);
    expect(v.status).toBe('ok');
    if (v.status !== 'ok') return;
    expect(v.main).toBeGreaterThan(20);
    expect(v.set).toBeGreaterThan(20);
  });

  it('ok with exact counts for a known instance, markers included', async () => {
    const dir = tmpDir();
    await writeInstance(dir, 300);
    // 300 objects × 2 members in main; in set each object has its marker + 2 names.
    expect(await verifyInstance(dir)).toEqual({ status: 'ok', main: 600, set: 900, bytes: expect.any(Number) });
  });

  it.each([[[]], [['main']]] as const)('ok (empty) when a kill cut off the creation after the databases %j: the next open completes it', async (made) => {
    const dir = tmpDir();
    const raw = { noSubdir: false, maxDbs: 4, encoding: 'binary', keyEncoding: 'binary', compression: false, cache: false, useVersions: false, overlappingSync: false } as never;
    const env = lmdb.open(dir, raw) as unknown as { openDB(n: string, o: object): unknown; close(): Promise<void> };
    for (const name of made) env.openDB(name, { keyEncoding: 'binary', encoding: 'binary', create: true });
    await env.close();
    expect(await verifyInstance(dir)).toEqual({ status: 'ok', main: 0, set: 0, bytes: 0 });
    const store = openStore(dir, { durability: 'safe' });
    const ptr = store.write((t) => {
      const p = t.objCreate();
      t.memberPut(p, 'k', 'v');
      return p;
    });
    await store.close();
    expect(await verifyInstance(dir)).toMatchObject({ status: 'ok', main: 1 });
    expect(ptr.length).toBe(17);
  });

  it('corrupt, not a crash, when every data page is overwritten and the meta pages are intact', async () => {
    const dir = tmpDir();
    await writeInstance(dir, 3000);
    expect(overwriteAllDataPages(dir)).toBeGreaterThan(100);
    const v = await verifyInstance(dir);
    expect(v.status).toBe('corrupt');
  });

  it.each(['main', 'set'] as const)('corrupt when one %s leaf page is overwritten (the child dies or liblmdb reports it)', async (db) => {
    const dir = tmpDir();
    await writeInstance(dir, 3000);
    overwriteMiddleLeaf(dir, db);
    const v = await verifyInstance(dir);
    expect(v).toMatchObject({ status: 'corrupt', reason: expect.any(String) });
    if (v.status === 'corrupt') expect(v.reason.length).toBeGreaterThan(0);
  });

  it('verifyInstances: one child walks them in turn; a corrupt one in the middle does not cost the others their verdict', async () => {
    const dir = tmpDir();
    const dirs = ['a', 'b', 'c', 'd'].map((n) => `${dir}/${n}`);
    for (const [i, d] of dirs.entries()) await writeInstance(d, i === 1 ? 1000 : 50);
    overwriteMiddleLeaf(dirs[1]!, 'main');
    overwriteAllDataPages(dirs[2]!);
    const seen: string[] = [];
    const v = await verifyInstances(dirs, { onVerdict: (d, x) => seen.push(`${d.slice(-1)} ${x.status}`) });
    expect(seen).toEqual(['a ok', 'b corrupt', 'c corrupt', 'd ok']);
    expect(v.get(dirs[3]!)).toEqual({ status: 'ok', main: 100, set: 150, bytes: expect.any(Number) });
  });

  it('unreadable when there is no instance, and within the timeout', async () => {
    expect(await verifyInstance(`${tmpDir()}/missing`)).toMatchObject({ status: 'unreadable', timedOut: false });
    const dir = tmpDir();
    await writeInstance(dir, 3000);
    expect(await verifyInstance(dir, { timeoutMs: 1 })).toMatchObject({ status: 'unreadable', timedOut: true });
  });
});
