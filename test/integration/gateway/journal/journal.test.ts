/**
 * The journal on real files: checkpoints and segment deletion, replay from
 * checkpoints, torn tails, corruption in an older segment, a corrupt checkpoint file,
 * the byte budget's back-pressure and argument checks.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LmjError, isLmjError } from '../../../../src/errors.js';
import { Journal, type JournalOptions, type Position, type ReplayEntry } from '../../../../src/gateway/journal/index.js';
import { seqOf, testRecord } from '../../../helpers/journal-records.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

async function collect(j: Journal): Promise<ReplayEntry[]> {
  const out: ReplayEntry[] = [];
  for await (const e of j.replay()) out.push(e);
  return out;
}

async function rejectionOf(p: Promise<unknown>): Promise<LmjError> {
  try {
    await p;
  } catch (err) {
    if (isLmjError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
}

/** Appends `n` records per device (one group per round), returns each record's position by seq. */
async function fill(j: Journal, devices: string[], rounds: number, pad = 200): Promise<Map<number, { deviceId: string; position: Position }>> {
  const out = new Map<number, { deviceId: string; position: Position }>();
  let seq = 0;
  for (let r = 0; r < rounds; r++) {
    const batch = devices.map((d) => testRecord(d, seq++, pad));
    const ps = await j.append(batch);
    batch.forEach((rec, i) => out.set(seqOf(rec), { deviceId: rec.deviceId, position: ps[i]! }));
  }
  return out;
}

const small = (dir: string, extra: Partial<JournalOptions> = {}): JournalOptions => ({ dir, segmentBytes: 4096, maxBytes: 8 * 1024 * 1024, checkpointIntervalMs: 10, ...extra });

describe('journal checkpoints and segment deletion', () => {
  it('deletes a segment only when every device in it has a durable checkpoint past it', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir));
    const pos = await fill(j, ['a', 'b'], 40);
    expect(segmentFiles(dir).length).toBeGreaterThanOrEqual(4);
    const lastOf = (dev: string, segment: number): Position =>
      [...pos.values()].filter((p) => p.deviceId === dev && p.position.segment === segment).map((p) => p.position).at(-1)!;
    // a fully applied, b not at all: nothing can go.
    j.applied('a', [...pos.values()].filter((p) => p.deviceId === 'a').at(-1)!.position);
    await j.checkpoint();
    expect(j.stats().segmentsDeleted).toBe(0);
    expect(existsSync(join(dir, '000000000001.seg'))).toBe(true);
    // b up to its last record in segment 1: exactly segment 1 goes.
    const b1 = lastOf('b', 1);
    j.applied('b', b1);
    await j.checkpoint();
    expect(j.stats().segmentsDeleted).toBe(1);
    expect(existsSync(join(dir, '000000000001.seg'))).toBe(false);
    expect(existsSync(join(dir, '000000000002.seg'))).toBe(true);
    expect(j.checkpointOf('b')).toEqual(b1);
    // An older position never moves a checkpoint back.
    j.applied('b', { segment: 1, offset: 40 });
    await j.checkpoint();
    expect(j.checkpointOf('b')).toEqual(b1);
    await j.close();

    const again = await Journal.open(small(dir));
    try {
      const replayed = await collect(again);
      const expected = [...pos.entries()].filter(([, p]) => p.deviceId === 'b' && p.position.segment > 1).map(([seq]) => seq);
      expect(replayed.map((e) => seqOf(e.record))).toEqual(expected);
      expect(again.stats().replayRecords).toBe(expected.length);
    } finally {
      await again.close();
    }
  });

  it('checkpoints by itself within the interval after applied()', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir));
    try {
      const pos = await fill(j, ['a'], 3);
      const last = [...pos.values()].at(-1)!.position;
      j.applied('a', last);
      await vi.waitFor(() => expect(j.stats().checkpointsWritten).toBe(1), { timeout: 5000, interval: 5 });
      expect(j.checkpointOf('a')).toEqual(last);
      expect(readFileSync(join(dir, 'checkpoints')).toString('latin1', 0, 8)).toBe('LMJJCKP\0');
    } finally {
      await j.close();
    }
  });

  it('refuses a bad device id or a position past the durable end with INVALID_PARAM', async () => {
    const j = await Journal.open(small(tmpDir()));
    try {
      const [p] = await j.append([testRecord('a', 1)]);
      expect(() => j.applied('a', { segment: p!.segment, offset: p!.offset + 1 })).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
      expect(() => j.applied('../a', p!)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
      expect((await rejectionOf(j.append([{ ...testRecord('a', 2), identity: Buffer.alloc(3) }]))).code).toBe('INVALID_PARAM');
      expect(j.stats().appendedRecords).toBe(1);
    } finally {
      await j.close();
    }
    expect((await rejectionOf(j.append([testRecord('a', 3)]))).code).toBe('JOURNAL_CLOSED');
    expect((await rejectionOf(Journal.open({ dir: tmpDir(), segmentBytes: 4096, maxBytes: 4096 }))).code).toBe('BAD_CONFIG');
  });
});

describe('journal recovery', () => {
  it('cuts a record torn at the end of the last segment and keeps everything before it', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir, { segmentBytes: 1024 * 1024 }));
    await fill(j, ['a', 'b'], 5);
    await j.close();
    expect(segmentFiles(dir)).toEqual(['000000000001.seg']);
    const file = join(dir, '000000000001.seg');
    const full = statSync(file).size;
    writeFileSync(file, readFileSync(file).subarray(0, full - 30));
    const torn: { segment: number; bytes: number }[] = [];
    const again = await Journal.open(small(dir, { segmentBytes: 1024 * 1024, hooks: { tornTail: (t) => torn.push(t) } }));
    try {
      expect(again.stats().tornTails).toBe(1);
      expect(torn).toEqual([expect.objectContaining({ segment: 1 })]);
      expect(again.stats().corruptSegments).toBe(0);
      // The file now ends at the last whole record.
      expect(full - 30 - statSync(file).size).toBe(torn[0]!.bytes);
      expect((await collect(again)).map((e) => seqOf(e.record))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await again.close();
    }
  });

  it('a last segment shorter than its header (crash while creating it) is removed', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir, { segmentBytes: 1024 * 1024 }));
    await fill(j, ['a'], 4);
    await j.close();
    writeFileSync(join(dir, '000000000099.seg'), Buffer.alloc(5));
    const again = await Journal.open(small(dir, { segmentBytes: 1024 * 1024 }));
    try {
      expect(again.stats().tornTails).toBe(1);
      expect(again.stats().tornBytes).toBe(5);
      expect(existsSync(join(dir, '000000000099.seg'))).toBe(false);
      expect(again.stats().activeSegment).toBe(100);
      expect((await collect(again)).map((e) => seqOf(e.record))).toEqual([0, 1, 2, 3]);
    } finally {
      await again.close();
    }
  });

  it('corruption in the middle of an older segment: JOURNAL_CORRUPT, counted, the rest of it skipped, no crash', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir));
    const pos = await fill(j, ['a', 'b', 'c'], 30);
    await j.close();
    const inFirst = [...pos.entries()].filter(([, p]) => p.position.segment === 1);
    expect(inFirst.length).toBeGreaterThan(4);
    // Flip a byte inside the 4th record of segment 1 (just before its end).
    const victim = inFirst[3]![1].position;
    const path = join(dir, '000000000001.seg');
    const data = readFileSync(path);
    data[victim.offset - 3]! ^= 0xff;
    writeFileSync(path, data);
    const errors: LmjError[] = [];
    const again = await Journal.open(small(dir, { hooks: { corrupt: (e) => errors.push(e) } }));
    try {
      expect(again.stats().corruptSegments).toBe(1);
      expect(errors.map((e) => e.code)).toEqual(['JOURNAL_CORRUPT']);
      expect(errors[0]!.details).toMatchObject({ segment: 1, offset: inFirst[2]![1].position.offset });
      const seqs = (await collect(again)).map((e) => seqOf(e.record));
      const expected = [...pos.entries()].filter(([, p]) => p.position.segment > 1).map(([s]) => s);
      expect(seqs).toEqual([0, 1, 2, ...expected]);
      // Appending continues normally.
      await again.append([testRecord('a', 10_000)]);
      expect(again.stats().appendedRecords).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('an unreadable checkpoint file is reported and everything replays (dedupe makes that safe)', async () => {
    const dir = tmpDir();
    const j = await Journal.open(small(dir, { segmentBytes: 1024 * 1024 }));
    const pos = await fill(j, ['a'], 5);
    j.applied('a', [...pos.values()].at(-1)!.position);
    await j.checkpoint();
    await j.close();
    const ck = join(dir, 'checkpoints');
    const data = readFileSync(ck);
    data[data.length - 2]! ^= 0x20;
    writeFileSync(ck, data);
    const errors: LmjError[] = [];
    const again = await Journal.open(small(dir, { segmentBytes: 1024 * 1024, hooks: { corrupt: (e) => errors.push(e) } }));
    try {
      expect(again.stats().corruptCheckpoints).toBe(1);
      expect(errors.map((e) => e.code)).toEqual(['JOURNAL_CORRUPT']);
      expect((await collect(again)).map((e) => seqOf(e.record))).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await again.close();
    }
  });
});

describe('journal byte budget', () => {
  it('refuses appends with JOURNAL_FULL while over budget and resumes when applying catches up', async () => {
    const dir = tmpDir();
    const budget: boolean[] = [];
    const j = await Journal.open(small(dir, { segmentBytes: 4096, maxBytes: 8192, hooks: { budget: (over) => budget.push(over) } }));
    try {
      let seq = 0;
      const last = new Map<string, Position>();
      while (!j.overBudget()) {
        const [p] = await j.append([testRecord('a', seq++, 300)]);
        last.set('a', p!);
        expect(seq).toBeLessThan(100);
      }
      expect(budget).toEqual([true]);
      expect(j.stats().bytes).toBeGreaterThanOrEqual(8192);
      const err = await rejectionOf(j.append([testRecord('a', seq++)]));
      expect(err.code).toBe('JOURNAL_FULL');
      expect(j.stats().refusedFull).toBe(1);
      let spaced = false;
      const space = j.waitForSpace().then(() => (spaced = true));
      await j.checkpoint();
      expect(spaced).toBe(false);
      j.applied('a', last.get('a')!);
      await j.checkpoint();
      await space;
      expect(j.overBudget()).toBe(false);
      expect(budget).toEqual([true, false]);
      expect(j.stats().bytes).toBeLessThan(8192);
      await j.append([testRecord('a', seq++)]);
    } finally {
      await j.close();
    }
  });
});
