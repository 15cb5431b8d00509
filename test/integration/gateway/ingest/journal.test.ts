/**
 * The ingest pipeline with the write-ahead journal: acks (`accepted`) after the journal's
 * fdatasync, applies afterwards, replays unapplied records at start (idempotently),
 * dead-letters what cannot be applied and still marks it applied, and holds submits while
 * the journal is over its byte budget.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageIdentity } from '../../../../src/core/telemetry/index.js';
import { Journal, type GroupTiming, type JournalRecord } from '../../../../src/gateway/journal/index.js';
import { journalDir } from '../../../../src/gateway/layout.js';
import type { AckStages, IngestResult } from '../../../../src/gateway/ingest/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, json, tel } from './helpers.js';

const JOURNAL = { journal: {} };

function record(deviceId: string, payload: Buffer, kind: 'telemetry' | 'meta' = 'telemetry'): JournalRecord {
  return { deviceId, kind, format: 'auto', identity: messageIdentity(payload), receivedAt: 7000, payload };
}

describe('ingest pipeline with the journal', () => {
  it('acks valid messages once journaled, rejects bad input before the ack, applies them all', async () => {
    const dir = tmpDir();
    const applied: IngestResult[] = [];
    const lags: number[] = [];
    const stages: AckStages[] = [];
    const groups: GroupTiming[] = [];
    const hooks = { result: (r: IngestResult) => applied.push(r), applyLag: (ms: number) => lags.push(ms), ackStages: (st: AckStages) => stages.push(st), journalGroup: (t: GroupTiming) => groups.push(t) };
    const ing = await ingestor(dir, { ...JOURNAL, durability: 'safe', hooks });
    try {
      const results = await Promise.all([
        ing.submit({ topic: tel('j1'), payload: json({ v: 1 }), qos: 1, receivedAt: 1000 }),
        ing.submit({ topic: tel('j1'), payload: Buffer.from('{nope'), qos: 1 }),
        ing.submit({ topic: tel('j2'), payload: json({ v: 2 }), qos: 1, receivedAt: 2000 }),
        ing.submit({ topic: 'devices/j1/meta', payload: json({ fw: '2' }), qos: 1 }),
        ing.submit({ topic: tel('j1'), payload: json({ v: 1 }), qos: 1, receivedAt: 3000 }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted', 'accepted', 'accepted']);
      expect(results[1]).toMatchObject({ code: 'BAD_JSON', deviceId: 'j1' });
      await ing.flush();
      expect((await ing.deviceSummary('j1')).readings).toBe(1);
      expect((await ing.latest('j2')).values).toEqual({ v: 2 });
      expect((await ing.deviceSummary('j1')).meta).toEqual({ fw: '2' });
      expect(applied.map((r) => r.status).sort()).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'duplicate', 'meta', 'rejected', 'stored', 'stored']);
      expect(lags.length).toBe(4);
      const s = ing.stats();
      expect([s.accepted, s.stored, s.duplicates, s.meta, s.rejected]).toEqual([4, 2, 1, 1, 1]);
      expect(s.journal).toMatchObject({ applyBacklog: 0, replayed: 0, appendedRecords: 4 });
      expect((await ing.deadLetters()).deadLetters.map((d) => d.code)).toEqual(['BAD_JSON']);
      // Where the acks' time went: one cut of all five submits, one journal group of the four valid ones.
      expect(stages).toHaveLength(1);
      expect(stages[0]!.messages).toBe(5);
      expect(groups).toHaveLength(1);
      expect(groups[0]).toMatchObject({ records: 4 });
      expect(groups[0]!.syncMs).toBeGreaterThan(0);
      // The cut's journal stage covers its group's write and fdatasync.
      expect(stages[0]!.journalMs).toBeGreaterThanOrEqual(groups[0]!.writeMs + groups[0]!.syncMs);
      expect(Math.min(stages[0]!.queueMs, stages[0]!.prepareMs, stages[0]!.handOffMs, groups[0]!.waitMs)).toBeGreaterThanOrEqual(0);
    } finally {
      await ing.close();
    }
  });

  it('bounds main-thread slices: at most 256 messages prepared per turn and per main-thread device commit', async () => {
    const dir = tmpDir();
    const cuts: AckStages[] = [];
    const commits: number[] = [];
    const hooks = { ackStages: (st: AckStages) => cuts.push(st), commit: (info: { messages: number }) => commits.push(info.messages) };
    const ing = await ingestor(dir, { journal: { applyWorker: false, applyInFlight: 1 }, durability: 'safe', hooks });
    try {
      // 700 messages of one device in one turn: one cut would prepare (and one commit apply) them all.
      const rs = await Promise.all(Array.from({ length: 700 }, (_, i) => ing.submit({ topic: tel('slices'), payload: json({ i }), qos: 1 })));
      expect(rs.every((r) => r.status === 'accepted')).toBe(true);
      await ing.flush();
      expect((await ing.deviceSummary('slices')).readings).toBe(700);
      expect(cuts.reduce((n, c) => n + c.messages, 0)).toBe(700);
      expect(Math.max(...cuts.map((c) => c.messages))).toBeLessThanOrEqual(256);
      expect(commits.reduce((n, m) => n + m, 0)).toBe(700);
      expect(Math.max(...commits)).toBeLessThanOrEqual(256);
    } finally {
      await ing.close();
    }
  });

  it('reads see every acked message: a read waits for what was acked before it to be applied', async () => {
    const dir = tmpDir();
    // One device commit at a time over 20 devices: applies lag behind the acks.
    const ing = await ingestor(dir, { journal: { applyInFlight: 1 }, durability: 'safe' });
    try {
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => ing.submit({ topic: tel(`lag-${i % 20}`), payload: json({ i }), qos: 1 })));
      expect(rs.every((r) => r.status === 'accepted')).toBe(true);
      const backlog = ing.stats().journal?.applyBacklog ?? 0;
      const [summary, list] = await Promise.all([ing.deviceSummary('lag-19'), ing.listDevices({ limit: 100 })]);
      // The last group was enqueued in the turn its acks resolved: its device commits are still running.
      expect(backlog).toBeGreaterThan(0);
      expect(summary.readings).toBe(10);
      expect(list.devices.reduce((n, d) => n + d.readings, 0)).toBe(200);
    } finally {
      await ing.close();
    }
  });

  it('replays unapplied records at start, exactly once, before taking new messages', async () => {
    const dir = tmpDir();
    const a = await ingestor(dir, JOURNAL);
    expect((await a.submit({ topic: tel('r1'), payload: json({ n: 1 }), qos: 1 })).status).toBe('accepted');
    await a.close();
    // A crash after the ack: journaled, not applied (one of them was applied, the checkpoint lagged).
    const j = await Journal.open({ dir: journalDir(dir) });
    await j.append([record('r1', json({ n: 1 })), record('r1', json({ n: 2 })), record('r2', json({ m: 1 })), record('r2', json({ loc: 'x' }), 'meta')]);
    await j.close();

    const b = await ingestor(dir, JOURNAL);
    try {
      expect(b.stats().journal?.replayed).toBe(4);
      expect([b.stats().stored, b.stats().duplicates, b.stats().meta]).toEqual([2, 1, 1]);
      expect((await b.deviceSummary('r1')).readings).toBe(2);
      expect((await b.readings('r2')).readings.map((r) => [r.ts, r.values])).toEqual([[7000, { m: 1 }]]);
      expect((await b.deviceSummary('r2')).meta).toEqual({ loc: 'x' });
    } finally {
      await b.close();
    }
    const c = await ingestor(dir, JOURNAL);
    try {
      expect(c.stats().journal?.replayed).toBe(0);
      expect((await c.deviceSummary('r1')).readings).toBe(2);
    } finally {
      await c.close();
    }
  });

  it('with the journal switched off, still replays what an earlier run journaled and did not apply', async () => {
    const dir = tmpDir();
    const j = await Journal.open({ dir: journalDir(dir) });
    await j.append([record('off', json({ n: 1 })), record('off', json({ n: 2 }))]);
    await j.close();
    const ing = await ingestor(dir);
    try {
      expect((await ing.deviceSummary('off')).readings).toBe(2);
      expect(ing.stats().journal).toBeUndefined();
      expect((await ing.submit({ topic: tel('off'), payload: json({ n: 3 }), qos: 1 })).status).toBe('stored');
    } finally {
      await ing.close();
    }
    const again = await Journal.open({ dir: journalDir(dir) });
    try {
      expect(again.stats().replayRecords).toBe(0);
    } finally {
      await again.close();
    }
  });

  it('dead-letters what a broken device cannot apply, marks it applied, keeps the others going', async () => {
    const dir = tmpDir();
    const a = await ingestor(dir, JOURNAL);
    await a.submit({ topic: tel('bad'), payload: json({ v: 1 }), qos: 1 });
    await a.close();
    writeFileSync(join(dir, 'devices', 'bad', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    const b = await ingestor(dir, JOURNAL);
    try {
      const rs = await Promise.all([
        b.submit({ topic: tel('bad'), payload: json({ v: 2 }), qos: 1 }),
        b.submit({ topic: tel('ok'), payload: json({ v: 2 }), qos: 1 }),
      ]);
      // Acked: the bytes are durable (journal, then dead letters); retrying cannot help.
      expect(rs.map((r) => r.status)).toEqual(['accepted', 'accepted']);
      await b.flush();
      expect((await b.deviceSummary('ok')).readings).toBe(1);
      expect((await b.deadLetters()).deadLetters.map((d) => [d.code, d.deviceId])).toEqual([['DEVICE_UNAVAILABLE', 'bad']]);
    } finally {
      await b.close();
    }
    const c = await ingestor(dir, JOURNAL);
    try {
      expect(c.stats().journal?.replayed).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('holds submits while the journal is over its byte budget, then acks them', async () => {
    const dir = tmpDir();
    const journal = { segmentBytes: 64 * 1024, maxBytes: 128 * 1024 };
    const j = await Journal.open({ dir: journalDir(dir), ...journal });
    const big = (i: number): Buffer => json({ i, pad: 'x'.repeat(8000) });
    for (let i = 0; i < 20 && !j.overBudget(); i++) await j.append([record('full', big(i))]);
    expect(j.overBudget()).toBe(true);
    await j.close();

    const ing = await ingestor(dir, { journal });
    try {
      // Replayed and applied, but segments go only after the next checkpoint: still over budget.
      expect(ing.stats().journal?.overBudget).toBe(true);
      const r = await ing.submit({ topic: tel('after'), payload: json({ v: 1 }), qos: 1 });
      expect(r.status).toBe('accepted');
      expect(ing.stats().journal).toMatchObject({ overBudget: false, refusedFull: 0 });
      expect(ing.stats().journal?.segmentsDeleted).toBeGreaterThan(0);
      await ing.flush();
      expect((await ing.deviceSummary('after')).readings).toBe(1);
    } finally {
      await ing.close();
    }
  });
});
