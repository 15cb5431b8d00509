/**
 * Crash safety: a child appends groups in a loop and reports every durable record
 * (`acked …`) over a pipe, applying most devices right away and one lagging device
 * rarely, so segments are checkpointed and deleted while it runs; it is SIGKILLed
 * mid-stream. Then a torn write is simulated at the end of the last segment (half a
 * record, what a power cut during an unsynced write leaves) and the journal reopened:
 * the torn tail is cut and counted, every acked record past its device's durable
 * checkpoint replays exactly once, nothing at or before a checkpoint replays, and
 * after applying the replay nothing replays again.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Journal, comparePositions, encodeRecord, type Position, type ReplayEntry } from '../../../../src/gateway/journal/index.js';
import { seqOf, testRecord } from '../../../helpers/journal-records.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const CHILD = fileURLToPath(new URL('./journal-child.ts', import.meta.url));

interface Acked {
  deviceId: string;
  seq: number;
  position: Position;
}

/** Runs the looping child until it acked `count` records, SIGKILLs it, returns the acks. */
function runAndKill(dir: string, count: number): Promise<Acked[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'loop', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: Acked[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^acked (\S+) (\d+) (\d+) (\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m) acked.push({ deviceId: m[1]!, seq: Number(m[2]), position: { segment: Number(m[3]), offset: Number(m[4]) } });
      }
      if (!killed && acked.length >= count) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close', not 'exit': every line already in the pipe is read before resolving.
    child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited with ${String(code)}: ${stderr}`))));
  });
}

async function collect(j: Journal): Promise<ReplayEntry[]> {
  const out: ReplayEntry[] = [];
  for await (const e of j.replay()) out.push(e);
  return out;
}

describe('journal crash safety (SIGKILL mid-stream)', () => {
  it('every acked record replays exactly once past its checkpoint; the torn tail is cut', async () => {
    const dir = join(tmpDir(), 'journal');
    const acked = await runAndKill(dir, 6000);
    expect(acked.length).toBeGreaterThanOrEqual(6000);
    const segments = readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
    expect(segments.length).toBeGreaterThan(0);
    // Segments were deleted while the child ran (16 KiB segments, ~6000 records).
    expect(segments[0]).not.toBe('000000000001.seg');
    const last = join(dir, segments[segments.length - 1]!);
    const frame = encodeRecord(testRecord('d3', 999_999));
    const sizeBefore = statSync(last).size;
    appendFileSync(last, frame.subarray(0, frame.length >> 1));

    const torn: { bytes: number }[] = [];
    const j = await Journal.open({ dir, segmentBytes: 16 * 1024, maxBytes: 64 * 1024 * 1024, hooks: { tornTail: (t) => torn.push(t) } });
    try {
      expect(j.stats().tornTails).toBe(1);
      expect(torn).toEqual([expect.objectContaining({ bytes: frame.length >> 1 })]);
      expect(statSync(last).size).toBe(sizeBefore);
      expect(j.stats().corruptSegments).toBe(0);

      const replayed = await collect(j);
      expect(replayed.length).toBe(j.stats().replayRecords);
      const bySeq = new Map<number, ReplayEntry[]>();
      for (const e of replayed) bySeq.set(seqOf(e.record), [...(bySeq.get(seqOf(e.record)) ?? []), e]);
      let expectedReplays = 0;
      for (const a of acked) {
        const cp = j.checkpointOf(a.deviceId);
        const got = bySeq.get(a.seq) ?? [];
        if (cp !== undefined && comparePositions(cp, a.position) >= 0) {
          expect(got, `seq ${a.seq} is checkpointed`).toHaveLength(0);
        } else {
          expectedReplays++;
          expect(got, `acked seq ${a.seq} of ${a.deviceId} replays once`).toHaveLength(1);
          expect(got[0]!.position).toEqual(a.position);
          expect(got[0]!.record.deviceId).toBe(a.deviceId);
        }
      }
      // The lagging device always has something to replay; others at most their last few.
      expect(expectedReplays).toBeGreaterThan(0);
      expect(replayed.some((e) => e.record.deviceId === 'd7')).toBe(true);
      // Replayed but never reported: at most the group whose report the kill cut short and
      // the group in flight (≤ 20 records each), all newer than anything reported.
      const ackedSeqs = new Set(acked.map((a) => a.seq));
      const maxAcked = Math.max(...ackedSeqs);
      const unreported = replayed.filter((e) => !ackedSeqs.has(seqOf(e.record)));
      expect(unreported.length).toBeLessThanOrEqual(40);
      for (const e of unreported) expect(seqOf(e.record)).toBeGreaterThan(maxAcked);
      // Journal order: positions strictly increase.
      for (let i = 1; i < replayed.length; i++) expect(comparePositions(replayed[i - 1]!.position, replayed[i]!.position)).toBeLessThan(0);

      // Apply the replay: after a checkpoint, a reopen replays nothing.
      for (const e of replayed) j.applied(e.record.deviceId, e.position);
      await j.checkpoint();
    } finally {
      await j.close();
    }
    const again = await Journal.open({ dir, segmentBytes: 16 * 1024, maxBytes: 64 * 1024 * 1024 });
    try {
      expect(await collect(again)).toHaveLength(0);
      expect(again.stats().segments).toBe(1);
    } finally {
      await again.close();
    }
  });
});
