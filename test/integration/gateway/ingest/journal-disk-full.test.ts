/**
 * With the journal, a device apply that meets a full disk: the messages were acked (they
 * are durable in the journal), so they must reach their device once there is space again,
 * without a restart. They used to be dropped from the apply queue until the next start's
 * replay (reads missed them, and the journal could never delete their segments). Real
 * tmpfs, filled right after the acks while one device commit at a time runs.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LmjError } from '../../../../src/errors.js';
import { mountTmpfs } from '../../../helpers/tmpfs.js';
import { ingestor, json, tel } from './helpers.js';

const DEVICES = 4;
const PER_DEVICE = 40;
const BLOB = 'b'.repeat(4000);

/** Fills the file system with 256 KiB files, then smaller ones, until ENOSPC. */
function fill(dir: string): void {
  for (const size of [256 * 1024, 4096]) {
    try {
      for (let i = 0; ; i++) writeFileSync(join(dir, `fill-${size}-${i}`), Buffer.alloc(size));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
  }
}

describe('journal apply on a full disk', () => {
  it('is tried again once there is space: every acked message reaches its device without a restart', async () => {
    const fs = mountTmpfs('24m');
    const errors: LmjError[] = [];
    let diskFull!: () => void;
    const sawDiskFull = new Promise<void>((r) => (diskFull = r));
    const ing = await ingestor(join(fs, 'data'), {
      journal: { applyInFlight: 1 },
      durability: 'safe',
      hooks: {
        error: (err) => {
          errors.push(err);
          if (err.code === 'DISK_FULL') diskFull();
        },
      },
    });
    try {
      // The devices exist (their instances are created) before the disk fills.
      for (let d = 0; d < DEVICES; d++) expect((await ing.submit({ topic: tel(`df-${d}`), payload: json({ first: d }), qos: 1 })).status).toBe('accepted');
      await ing.flush();
      const rs = await Promise.all(
        Array.from({ length: DEVICES * PER_DEVICE }, (_, i) => ing.submit({ topic: tel(`df-${i % DEVICES}`), payload: json({ i, blob: BLOB }), qos: 1 })),
      );
      expect(rs.every((r) => r.status === 'accepted')).toBe(true);
      fill(fs);
      await sawDiskFull;
      expect(ing.stats().journal?.applyBacklog).toBeGreaterThan(0);
      for (const f of readdirSync(fs)) if (f.startsWith('fill-')) rmSync(join(fs, f));
      await ing.flush();
      for (let d = 0; d < DEVICES; d++) expect((await ing.deviceSummary(`df-${d}`)).readings).toBe(PER_DEVICE + 1);
      expect(ing.stats().journal?.applyBacklog).toBe(0);
      // Besides the applies, only the journal's checkpoint write met the full disk (kept the old one, retried).
      expect(errors.filter((e) => e.code !== 'DISK_FULL' && !(e.code === 'JOURNAL_IO' && /checkpoint/.test(e.message))).map((e) => e.message)).toEqual([]);
    } finally {
      await ing.close();
    }
  });
});
