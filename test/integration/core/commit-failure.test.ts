/**
 * A failed lmdb-js async commit: lmdb-js rejects the caller with a generic "Commit
 * failed" and the real cause on a second promise (`commitError`) that no caller holds;
 * unhandled, that rejection killed the daemon whenever the cause was not a disk-space or
 * I/O error (the daemon's handler only absorbed those), and lmdb-js's own event-turn
 * batch left one more promise of a failed commit unhandled. Real failures: a child
 * process over its file-size limit (`prlimit --fsize`; LMDB reports the short write as
 * EIO) and a full tmpfs (ENOSPC). The commit rejects with STORE_IO naming the cause and
 * nothing is unhandled.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type LmjStore } from '../../../src/core/index.js';
import { LmjError } from '../../../src/errors.js';
import { isDiskError } from '../../../src/gateway/disk-guard.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { mountTmpfs } from '../../helpers/tmpfs.js';

const CHILD = new URL('./commit-failure-child.ts', import.meta.url).pathname;

const VALUE = Buffer.alloc(1000, 0xab);

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** Writes `members` 1000-byte members into a new object in one async commit. */
function write(s: LmjStore, members: number): Promise<Buffer> {
  return s.writeAsync((t) => {
    const p = t.objCreate();
    for (let m = 0; m < members; m++) t.memberPut(p, `m${m}`, VALUE);
    return p;
  });
}

/** Two macrotask turns: a rejection left unhandled by then has been reported. */
async function turns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

async function failure(p: Promise<unknown>): Promise<LmjError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LmjError);
  return err as LmjError;
}

describe('a failed async commit', () => {
  it('over the file-size limit (EFBIG, which LMDB reports as EIO): rejects with STORE_IO naming the cause, nothing unhandled', () => {
    const dir = tmpDir();
    const run = spawnSync('prlimit', [`--fsize=${2 * 1024 * 1024}`, process.execPath, '--import', 'tsx', CHILD, dir], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).not.toMatch(/commit-failure-child failed/);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout.trim()) as { committed: number; code?: string; message?: string; errno?: unknown; unhandled: string[] };
    expect(out.committed).toBeGreaterThan(0);
    expect(out).toMatchObject({ code: 'STORE_IO', unhandled: [] });
    // LMDB turns the short write into EIO; the cause is named either way.
    expect(out.message).toMatch(/^commit failed: (Input\/output error|File too large)/);
  });

  it('disk full (ENOSPC): rejects with STORE_IO that the disk guard counts as a disk error, nothing unhandled', async () => {
    const fs = mountTmpfs('8m');
    const s = openStore(join(fs, 'dev'), { durability: 'safe' });
    try {
      await write(s, 4);
      // Fill what is left, then ask for far more than any free page LMDB still has.
      let filled = 0;
      try {
        for (; ; filled++) writeFileSync(join(fs, `fill-${filled}`), Buffer.alloc(256 * 1024));
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      try {
        writeFileSync(join(fs, 'fill-tail'), Buffer.alloc(4096));
      } catch {
        // Already full to the last page.
      }
      const err = await failure(write(s, 512));
      expect(err.code).toBe('STORE_IO');
      expect(isDiskError(err)).toBe(true);
      await turns();
      expect(unhandled).toEqual([]);
    } finally {
      await s.close().catch(() => undefined);
    }
  });
});
