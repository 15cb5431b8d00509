/**
 * Group commit, proven at the syscall level: a child process appends G groups of one
 * record per device under `strace -f -y -e trace=fdatasync,fsync`, and the number of
 * fdatasync calls on segment files must be G (+1 for the new segment's header),
 * whatever the number of devices per group. Pipelining, too: with appends arriving in
 * every turn, a segment write runs while an earlier group's fdatasync is still in flight.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../../../src/gateway/journal/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const CHILD = fileURLToPath(new URL('./journal-child.ts', import.meta.url));
const run = promisify(execFile);

/** Runs the child under strace; returns the syscalls on segment files and the child's stats. */
async function traced(groups: number, devices: number): Promise<{ segmentSyncs: string[]; dirSyncs: string[]; stats: { groups: number; appendedRecords: number } }> {
  const dir = tmpDir();
  const journalDir = join(dir, 'journal');
  const trace = join(dir, 'trace.txt');
  const { stdout } = await run('strace', ['-f', '-y', '-e', 'trace=fdatasync,fsync', '-o', trace, process.execPath, '--import', 'tsx', CHILD, 'groups', journalDir, String(groups), String(devices)], { maxBuffer: 16 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('stats '));
  expect(line).toBeDefined();
  const calls = readFileSync(trace, 'utf8').split('\n').filter((l) => /\b(fdatasync|fsync)\(/.test(l) && !l.includes('resumed>'));
  return {
    segmentSyncs: calls.filter((l) => /fdatasync\(\d+<[^>]*\.seg>\)/.test(l)),
    dirSyncs: calls.filter((l) => l.includes(`fsync(`) && l.includes(`<${journalDir}>`)),
    stats: JSON.parse(line!.slice(6)) as { groups: number; appendedRecords: number },
  };
}

/**
 * Runs the child's `stream` mode under strace (writes and syncs with their threads); returns
 * how many segment writes started while a segment fdatasync was unfinished, and the child's stats.
 */
async function streamed(count: number): Promise<{ overlapped: number; syncs: number; stats: { groups: number; appendedRecords: number } }> {
  const dir = tmpDir();
  const trace = join(dir, 'trace.txt');
  const { stdout } = await run('strace', ['-f', '-y', '-e', 'trace=pwrite64,pwritev,fdatasync', '-o', trace, process.execPath, '--import', 'tsx', CHILD, 'stream', join(dir, 'journal'), String(count)], { maxBuffer: 16 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('stats '));
  expect(line).toBeDefined();
  const syncing = new Set<string>();
  let overlapped = 0;
  let syncs = 0;
  for (const l of readFileSync(trace, 'utf8').split('\n')) {
    if (!l.includes('.seg>')) continue;
    const pid = l.split(' ')[0]!;
    if (/fdatasync\(/.test(l)) {
      syncs++;
      if (l.includes('<unfinished')) syncing.add(pid);
    } else if (/pwrite(64|v)\(/.test(l) && [...syncing].some((p) => p !== pid)) {
      overlapped++;
    }
    if (l.includes('<... fdatasync resumed>')) syncing.delete(pid);
  }
  return { overlapped, syncs, stats: JSON.parse(line!.slice(6)) as { groups: number; appendedRecords: number } };
}

describe('journal group commit (strace)', () => {
  it('one fdatasync per group with 100 devices per group, the same as with 1 device', async () => {
    const groups = 30;
    const many = await traced(groups, 100);
    expect(many.stats.appendedRecords).toBe(groups * 100);
    expect(many.stats.groups).toBe(groups);
    // +1: the new segment's header is synced when the segment is created.
    expect(many.segmentSyncs).toHaveLength(groups + 1);
    expect(many.dirSyncs.length).toBeGreaterThanOrEqual(1);
    const one = await traced(groups, 1);
    expect(one.stats.appendedRecords).toBe(groups);
    expect(one.segmentSyncs).toHaveLength(groups + 1);
  });

  it('pipelines: with an append in every turn, segment writes run while an earlier fdatasync is in flight, acks in order', async () => {
    const s = await streamed(400);
    // The child exits 3 (run() rejects) if an append resolved out of order.
    expect(s.stats.appendedRecords).toBe(400);
    expect(s.stats.groups).toBeGreaterThan(1);
    expect(s.stats.groups).toBeLessThan(400);
    expect(s.overlapped).toBeGreaterThan(0);
  });

  it('appends of one turn form one group; the next group forms while an fsync is in flight', async () => {
    const j = await Journal.open({ dir: tmpDir() });
    try {
      const first = Array.from({ length: 50 }, (_, i) => j.append([{ deviceId: `d${i}`, kind: 'meta', format: 'cbor', identity: Buffer.alloc(16, i), receivedAt: i, payload: Buffer.from([0xa0]) }]));
      // Queued after the first group started (it is in flight): these form the second group.
      await new Promise((r) => setImmediate(r));
      const second = Array.from({ length: 50 }, (_, i) => j.append([{ deviceId: `e${i}`, kind: 'meta', format: 'cbor', identity: Buffer.alloc(16, 100 + i), receivedAt: i, payload: Buffer.from([0xa0]) }]));
      const ends = await Promise.all([...first, ...second]);
      expect(j.stats().groups).toBe(2);
      // Positions are strictly increasing in append order.
      const offsets = ends.map((e) => e[0]!.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(100);
    } finally {
      await j.close();
    }
  });
});
