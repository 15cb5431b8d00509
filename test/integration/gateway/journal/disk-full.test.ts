/**
 * Disk full on a real 1 MiB tmpfs: an append that hits ENOSPC rejects with JOURNAL_IO
 * (nothing acked, no crash), leaves nothing corrupt behind, and appending resumes by
 * itself once space is freed; after a reopen exactly the acked records replay.
 */
import { closeSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmjError, isLmjError } from '../../../../src/errors.js';
import { Journal, type Position } from '../../../../src/gateway/journal/index.js';
import { seqOf, testRecord } from '../../../helpers/journal-records.js';
import { mountTmpfs } from '../../../helpers/tmpfs.js';

function segmentBytesOnDisk(dir: string): number {
  return readdirSync(dir).filter((n) => n.endsWith('.seg')).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}

/** Writes 1 KiB chunks to `path` until the filesystem is full (ENOSPC is the expected end). */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

const opts = (dir: string) => ({ dir, segmentBytes: 128 * 1024, maxBytes: 64 * 1024 * 1024 });

/** Reopens the journal in `dir` (no torn tail, no corrupt segment) and returns the seqs its replay yields. */
async function reopenedReplay(dir: string): Promise<number[]> {
  const reopened = await Journal.open(opts(dir));
  try {
    expect(reopened.stats().tornTails).toBe(0);
    expect(reopened.stats().corruptSegments).toBe(0);
    const replayed: number[] = [];
    for await (const e of reopened.replay()) replayed.push(seqOf(e.record));
    return replayed;
  } finally {
    await reopened.close();
  }
}

describe('journal on a full disk (tmpfs)', () => {
  it('rejects the group with JOURNAL_IO/ENOSPC, corrupts nothing, resumes when space returns', async () => {
    const mnt = mountTmpfs('1m');
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(600 * 1024));
    const dir = join(mnt, 'journal');
    const failures: LmjError[] = [];
    const j = await Journal.open({ ...opts(dir), hooks: { appendFailed: (e) => failures.push(e) } });
    const acked: number[] = [];
    let seq = 0;
    let err: LmjError | undefined;
    let firstPosition: Position | undefined;
    for (let g = 0; g < 1000 && err === undefined; g++) {
      const batch = Array.from({ length: 10 }, (_, i) => testRecord(`d${i}`, seq++, 2000));
      try {
        const ps = await j.append(batch);
        firstPosition ??= ps[0];
        acked.push(...batch.map(seqOf));
      } catch (e) {
        if (!isLmjError(e, 'JOURNAL_IO')) throw e;
        err = e;
      }
    }
    expect(err?.code).toBe('JOURNAL_IO');
    expect(err?.details?.['errno']).toBe('ENOSPC');
    expect(err?.cause).toBeDefined();
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(acked.length).toBeGreaterThan(0);
    // No partial group left on disk: the files hold exactly the durable bytes.
    expect(segmentBytesOnDisk(dir)).toBe(j.stats().bytes);
    // Still full: the same group fails again, the process is fine.
    const again = await j.append([testRecord('d0', seq++, 20_000)]).then(() => undefined, (e: unknown) => e);
    expect(isLmjError(again, 'JOURNAL_IO')).toBe(true);
    // Take the last free pages too: a checkpoint cannot be written now, it fails cleanly,
    // the old checkpoint (none) stays, and no segment is deleted without it.
    const rest = join(mnt, 'rest');
    fillUp(rest);
    const segmentsBefore = j.stats().segments;
    j.applied('d0', firstPosition!);
    const ckErr = await j.checkpoint().then(() => undefined, (e: unknown) => e);
    expect(isLmjError(ckErr, 'JOURNAL_IO')).toBe(true);
    expect(j.stats().checkpointFailures).toBe(1);
    expect(j.checkpointOf('d0')).toBeUndefined();
    expect(j.stats().segments).toBe(segmentsBefore);

    rmSync(filler);
    rmSync(rest);
    await j.checkpoint();
    expect(j.checkpointOf('d0')).toEqual(firstPosition);
    const resumed = Array.from({ length: 10 }, (_, i) => testRecord(`d${i}`, seq++, 2000));
    await j.append(resumed);
    acked.push(...resumed.map(seqOf));
    await j.close();

    // Everything acked, except d0's first record, which the checkpoint covers.
    expect(await reopenedReplay(dir)).toEqual(acked.filter((x) => x !== 0));
    expect(readdirSync(dir).filter((n) => n.endsWith('.corrupt') || n.endsWith('.tmp'))).toEqual([]);
  });

  it('pipelined groups: a failure rejects the groups in flight after it, leaves only durable bytes, and appending resumes', async () => {
    const mnt = mountTmpfs('1m');
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(600 * 1024));
    const dir = join(mnt, 'journal');
    const j = await Journal.open(opts(dir));
    const acked: number[] = [];
    let failed = 0;
    let seq = 0;
    const settle = (batch: ReturnType<typeof testRecord>[]): Promise<void> =>
      j.append(batch).then(
        () => void acked.push(...batch.map(seqOf)),
        (e: unknown) => {
          if (!isLmjError(e, 'JOURNAL_IO')) throw e;
          failed++;
        },
      );
    // One append per turn, none awaited: groups are written while earlier ones sync.
    const all: Promise<void>[] = [];
    for (let g = 0; g < 300; g++) {
      all.push(settle([testRecord(`d${g % 10}`, seq++, 2000)]));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(failed).toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThan(0);
    expect(segmentBytesOnDisk(dir)).toBe(j.stats().bytes);
    rmSync(filler);
    await settle([testRecord('d0', seq++, 2000)]);
    expect(acked.at(-1)).toBe(seq - 1);
    await j.close();
    expect(await reopenedReplay(dir)).toEqual(acked);
  });
});
