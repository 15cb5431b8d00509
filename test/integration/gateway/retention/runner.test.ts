/**
 * Retention over real device instances: expiry by age and by size, compaction that
 * shrinks data.mdb, the LMJCore format kept (audit, counts, mdb_dump), unsynced
 * readings kept unless the policy drops them, and writes queued during a compaction.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyInstance } from '../../../../src/core/verify/index.js';
import { readings as readReadings, encodeElement } from '../../../../src/core/telemetry/index.js';
import { readRoot } from '../../../../src/core/telemetry/root.js';
import { applyReadings, messageIdentity } from '../../../../src/core/telemetry/index.js';
import { getCodec } from '../../../../src/codec/index.js';
import { createPool } from '../../../../src/devices/pool/index.js';
import type { DevicePool } from '../../../../src/devices/pool/index.js';
import { RetentionRunner, type SyncCursors } from '../../../../src/gateway/retention/runner.js';
import type { RetentionPolicy } from '../../../../src/gateway/retention/policy.js';
import { writeReadings } from '../../../helpers/telemetry-data.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const T0 = 1_700_000_000_000;
const N = 3000;

async function fill(dataDir: string, device: string, n = N): Promise<void> {
  const payloads = Array.from({ length: n }, (_, i) => ({ payload: { seq: i, env: { temp: 20 + (i % 10), note: 'x'.repeat(200) } }, receivedAt: T0 + i * 1000 }));
  const stored = await writeReadings(dataDir, device, payloads);
  expect(stored).toHaveLength(n);
}

function runner(pool: DevicePool, defaults: Partial<RetentionPolicy>, sync?: SyncCursors): RetentionRunner {
  return new RetentionRunner({
    pool,
    settings: { defaults: { maxAgeMs: undefined, maxBytes: undefined, dropUnsynced: false, ...defaults }, devices: new Map(), intervalMs: 0, batchReadings: 200, dutyPercent: 100 },
    listDevices: () => ['d1'],
    ...(sync === undefined ? {} : { sync }),
  });
}

async function check(pool: DevicePool, id: string): Promise<{ count: number; seqs: number[]; ghosts: number; ids: number; firstTs: number | undefined }> {
  return pool.use(id, (s) =>
    s.read((t) => {
      const root = readRoot(t);
      if (root === null) throw new Error('no root');
      const seqs: number[] = [];
      let cursor: string | undefined;
      let firstTs: number | undefined;
      for (;;) {
        const page = readReadings(t, { limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        for (const r of page.readings) {
          firstTs ??= r.ts;
          seqs.push(r.values.seq as number);
        }
        if (page.next === null) break;
        cursor = page.next;
      }
      return { count: root.readingCount, seqs, ghosts: t.audit().length, ids: t.memberList(root.ids).length, firstTs };
    }),
  );
}

function mdbDumpEntries(dir: string, db: string): number {
  const out = execFileSync('mdb_dump', ['-s', db, dir], { maxBuffer: 256 * 1024 * 1024 }).toString();
  return out.split('\n').filter((l) => l.startsWith(' ')).length / 2;
}

describe('retention runner', () => {
  it('expires by age: older readings gone with their objects and ids, newer intact, file shrinks, mdb_dump reads it', async () => {
    const dataDir = tmpDir();
    await fill(dataDir, 'd1');
    const pool = createPool({ dataDir, durability: 'fast' });
    try {
      const sizeBefore = statSync(join(pool.pathOf('d1'), 'data.mdb')).size;
      const now = T0 + N * 1000;
      // Keep the last 1000 s: readings with ts >= T0 + 2000 s.
      const [run] = await runner(pool, { maxAgeMs: 1000 * 1000 }).run(undefined, now);
      expect(run?.expired).toBe(2000);
      expect(run?.compacted).toBe(true);
      const c = await check(pool, 'd1');
      expect(c.count).toBe(1000);
      expect(c.seqs).toEqual(Array.from({ length: 1000 }, (_, i) => 2000 + i));
      expect(c.firstTs).toBe(T0 + 2000 * 1000);
      expect(c.ghosts).toBe(0);
      expect(c.ids).toBe(1000);
      const sizeAfter = statSync(join(pool.pathOf('d1'), 'data.mdb')).size;
      expect(sizeAfter).toBeLessThan(sizeBefore * 0.5);
      expect(run?.bytesAfter).toBe(sizeAfter);
    } finally {
      await pool.close();
    }
    const dir = join(dataDir, 'devices', 'd1');
    // Per reading: a set element; per reading object 2 + its paths in main.
    expect(mdbDumpEntries(dir, 'set')).toBeGreaterThan(1000);
    expect(mdbDumpEntries(dir, 'main')).toBeGreaterThan(1000);
    // Every page readable and the headers' counts match the contents.
    expect((await verifyInstance(dir, { timeoutMs: 120_000 })).status).toBe('ok');
  });

  it('expires by size: data.mdb ends under maxBytes, the newest readings stay', async () => {
    const dataDir = tmpDir();
    await fill(dataDir, 'd1');
    const pool = createPool({ dataDir, durability: 'fast' });
    try {
      const maxBytes = 512 * 1024;
      expect(statSync(join(pool.pathOf('d1'), 'data.mdb')).size).toBeGreaterThan(maxBytes);
      const [run] = await runner(pool, { maxBytes }).run();
      expect(run?.expired).toBeGreaterThan(0);
      expect(statSync(join(pool.pathOf('d1'), 'data.mdb')).size).toBeLessThanOrEqual(maxBytes);
      const c = await check(pool, 'd1');
      expect(c.count).toBe(N - (run?.expired ?? 0));
      expect(c.seqs[c.seqs.length - 1]).toBe(N - 1);
      expect(c.seqs[0]).toBe(run?.expired);
      expect(c.ghosts).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('keeps readings after the sync cursor unless dropUnsynced, and counts dropped unsynced ones', async () => {
    const dataDir = tmpDir();
    await fill(dataDir, 'd1');
    const pool = createPool({ dataDir, durability: 'fast' });
    try {
      // Synced through the 500th reading (seq 499).
      const synced = await pool.use('d1', (s) => s.read((t) => readReadings(t, { limit: 500 }).readings[499]));
      expect(synced?.values.seq).toBe(499);
      const cursor = encodeElement(synced?.ts ?? 0, Buffer.from(synced?.ptr ?? '', 'hex'));
      const sync: SyncCursors = { syncedThrough: () => cursor };
      const now = T0 + N * 1000;
      const [kept] = await runner(pool, { maxAgeMs: 1000 * 1000 }, sync).run(undefined, now);
      expect(kept?.expired).toBe(500);
      expect(kept?.unsyncedDropped).toBe(0);
      expect((await check(pool, 'd1')).seqs[0]).toBe(500);
      const dropping = runner(pool, { maxAgeMs: 1000 * 1000, dropUnsynced: true }, sync);
      const [dropped] = await dropping.run(undefined, now);
      expect(dropped?.expired).toBe(1500);
      expect(dropped?.unsyncedDropped).toBe(1500);
      expect(dropping.counters.unsyncedDropped).toBe(1500);
      const c = await check(pool, 'd1');
      expect(c.seqs[0]).toBe(2000);
      expect(c.ghosts).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('paces its delete transactions and ends a paced run at stop, after the transaction in flight, without compacting', async () => {
    const dataDir = tmpDir();
    await fill(dataDir, 'd1');
    const pool = createPool({ dataDir, durability: 'fast' });
    let transactions = 0;
    // 1 %: after each transaction a pause of 99 times its duration, which the stop ends.
    const r: RetentionRunner = new RetentionRunner({
      pool,
      settings: { defaults: { maxAgeMs: 1000 * 1000, maxBytes: undefined, dropUnsynced: false }, devices: new Map(), intervalMs: 0, batchReadings: 200, dutyPercent: 1 },
      listDevices: () => ['d1'],
      // Everything counts as synced; the stop lands during the pause after the first transaction.
      sync: { syncedThrough: () => Buffer.alloc(25, 0xff), onExpired: () => void (transactions++ === 0 ? setImmediate(() => void r.stop()) : undefined) },
    });
    try {
      const [run] = await r.run(undefined, T0 + N * 1000);
      await r.stop();
      expect(transactions).toBe(1);
      expect(run).toMatchObject({ expired: 200, compacted: false });
      expect((await check(pool, 'd1')).count).toBe(N - 200);
    } finally {
      await pool.close();
    }
  });

  it('queues writes that arrive during compaction for the compacted instance while another device keeps committing', async () => {
    const dataDir = tmpDir();
    await fill(dataDir, 'd1');
    const pool = createPool({ dataDir, durability: 'fast' });
    const codec = getCodec();
    const write = (id: string, seq: number): Promise<unknown> =>
      pool.use(
        id,
        (s) =>
          s.writeAsync((t) => {
            const raw = Buffer.from(JSON.stringify({ seq, late: true }));
            return applyReadings(t, id, [{ flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt: T0 + N * 1000 + seq }]);
          }),
        { create: true },
      );
    // Another device ingests, one write in flight, through the whole run.
    let otherAcked = 0;
    let running = true;
    const other = (async () => {
      while (running) await write('d2', otherAcked).then(() => otherAcked++);
    })();
    let queued: Promise<unknown>[] = [];
    let storedDuringCopy = 0;
    const acks: Partial<Record<string, number>> = {};
    let storedAtRename = -1;
    const r = new RetentionRunner({
      pool,
      settings: { defaults: { maxAgeMs: 1000 * 1000, maxBytes: undefined, dropUnsynced: false }, devices: new Map(), intervalMs: 0, batchReadings: 200, dutyPercent: 100 },
      listDevices: () => ['d1'],
      onCompactStep: async (_id, step) => {
        acks[step] = otherAcked;
        if (step === 'renamed') storedAtRename = storedDuringCopy;
        if (step !== 'copying') return;
        queued = Array.from({ length: 20 }, (_, i) => write('d1', N + i).then(() => storedDuringCopy++));
        // Give the queued writes every chance to run; they must still wait for the swap.
        for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
      },
    });
    try {
      const [run] = await r.run(undefined, T0 + N * 1000);
      running = false;
      await other;
      expect(run?.compacted).toBe(true);
      expect(queued).toHaveLength(20);
      expect(storedAtRename).toBe(0);
      // The copy runs in a worker: the other device's commits were acknowledged while it ran.
      expect(acks['copied']).toBeGreaterThan(acks['copying'] ?? Infinity);
      await Promise.all(queued);
      expect(storedDuringCopy).toBe(20);
      const c = await check(pool, 'd1');
      expect(c.count).toBe(1020);
      expect(c.seqs.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => N + i));
      expect(c.ghosts).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
