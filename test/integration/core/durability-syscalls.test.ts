/**
 * Durability that SIGKILL cannot fake: the page cache survives a killed process, so
 * the crash tests would still pass if `safe` stopped syncing. Here a real child
 * (./durable-writer.ts) runs under strace, and the order of its system calls shows
 * what reached the disk before each acknowledgement it announced:
 *
 * - `safe`: every acknowledged commit is preceded by a completed fdatasync/fsync of
 *   the store's data.mdb, after the previous acknowledgement;
 * - `fast`: no data sync of data.mdb before the last acknowledgement; the device
 *   store syncs once at close() (its periodic flush is pushed out of the run);
 * - the dead-letter store syncs before every acknowledgement in either mode;
 * - the outbox's sync state (cursors) syncs per commit in `safe`, never in `fast`.
 *
 * Deterministic: assertions are on the order of calls, never on their timing.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDataSync, runTraced, writtenBytes, type Syscall } from '../../helpers/strace.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const WRITER = new URL('./durable-writer.ts', import.meta.url).pathname;
const COUNT = 5;

interface Trace {
  /** Call indexes of `ack <i>` (in order) and of `closed` on the child's stdout. */
  acks: number[];
  closed: number;
  /** Call indexes of completed data syncs of the store's data.mdb. */
  syncs: number[];
}

async function trace(kind: string, mode: 'safe' | 'fast', file: string): Promise<Trace> {
  const dir = tmpDir();
  const run = await runTraced(dir, process.execPath, ['--import', 'tsx', WRITER, dir, kind, mode, String(COUNT)]);
  expect(run.stderr, run.stderr).not.toMatch(/durable-writer failed/);
  expect(run.code).toBe(0);
  const stdoutWrites = run.calls.filter((c: Syscall) => c.fd === 1 && (c.name === 'write' || c.name === 'writev'));
  const marker = (text: string): number[] => stdoutWrites.filter((c) => writtenBytes(c).toString() === text).map((c) => c.index);
  const acks = Array.from({ length: COUNT }, (_, i) => {
    const at = marker(`ack ${i}\n`);
    expect(at, `ack ${i}`).toHaveLength(1);
    return at[0]!;
  });
  const closed = marker('closed\n');
  expect(closed).toHaveLength(1);
  const suffix = join(dir, file);
  return { acks, closed: closed[0]!, syncs: run.calls.filter((c) => isDataSync(c, suffix)).map((c) => c.index) };
}

/** For every ack, a data sync after the previous ack and before this one. */
function expectSyncBeforeEveryAck(t: Trace): void {
  t.acks.forEach((at, i) => {
    const from = i === 0 ? -1 : t.acks[i - 1]!;
    expect(t.syncs.filter((s) => s > from && s < at).length, `syncs before ack ${i}`).toBeGreaterThanOrEqual(1);
  });
}

describe('what reaches the disk before an acknowledgement (strace)', () => {
  it('device store, safe: an fdatasync of data.mdb before every acknowledged commit', async () => {
    expectSyncBeforeEveryAck(await trace('store', 'safe', 'devices/dev-1/data.mdb'));
  });

  it('device store, fast: no sync before the acks, one at close()', async () => {
    const t = await trace('store', 'fast', 'devices/dev-1/data.mdb');
    expect(t.syncs.filter((s) => s < t.acks[COUNT - 1]!)).toEqual([]);
    expect(t.syncs.filter((s) => s > t.acks[COUNT - 1]! && s < t.closed).length).toBeGreaterThanOrEqual(1);
  });

  it.each(['safe', 'fast'] as const)('dead-letter store (%s mode): a sync before every acknowledged letter', async (mode) => {
    expectSyncBeforeEveryAck(await trace('deadletters', mode, 'gateway/deadletters/data.mdb'));
  });

  it('outbox sync state, safe: a sync before every acknowledged cursor commit', async () => {
    expectSyncBeforeEveryAck(await trace('sync-state', 'safe', 'gateway/sync/data.mdb'));
  });

  it('outbox sync state, fast: no sync at all before close', async () => {
    const t = await trace('sync-state', 'fast', 'gateway/sync/data.mdb');
    expect(t.syncs.filter((s) => s < t.closed)).toEqual([]);
  });
});
