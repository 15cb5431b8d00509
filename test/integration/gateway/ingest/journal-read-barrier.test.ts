/**
 * With the journal, an acked message may still wait in its device's apply queue: every
 * read path of the running pipeline must wait for it, not only the HTTP device routes.
 * `withDevice` (the dashboard's series; the SQL query source reads through it) used to
 * read the instance as it was, so a reading acked a moment before was missing, and a new
 * device acked a moment before was unknown (NOT_FOUND). The SQL query also lists the
 * devices first, which waits for all of them; it is checked here so it stays that way.
 * One pipeline, applies held to one device commit in flight.
 */
import { describe, expect, it } from 'vitest';
import { readings } from '../../../../src/core/telemetry/index.js';
import { daemonQuerySource } from '../../../../src/gateway/http/query-source.js';
import type { Ingestor } from '../../../../src/gateway/ingest/index.js';
import { runQuery } from '../../../../src/query/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, json, tel } from './helpers.js';

const DEVICES = 20;
const PER_DEVICE = 10;

/** Acks PER_DEVICE readings per device under `prefix`; returns the apply backlog right after the last ack. */
async function ackAll(ing: Ingestor, prefix: string): Promise<number> {
  const rs = await Promise.all(
    Array.from({ length: DEVICES * PER_DEVICE }, (_, i) => ing.submit({ topic: tel(`${prefix}-${i % DEVICES}`), payload: json({ prefix, i }), qos: 1 })),
  );
  expect(rs.every((r) => r.status === 'accepted')).toBe(true);
  return ing.stats().journal?.applyBacklog ?? 0;
}

describe('journal read barrier: every read of the running pipeline sees every acked message', () => {
  it('withDevice and a SQL query on one device wait for its acked messages to be applied', async () => {
    const dir = tmpDir();
    const ing = await ingestor(dir, { journal: { applyInFlight: 1 }, durability: 'safe' });
    const source = daemonQuerySource(ing, dir, 'safe');
    try {
      // The last device is applied last (round robin, one commit in flight): its messages wait.
      expect(await ackAll(ing, 'wd')).toBeGreaterThan(PER_DEVICE);
      const seen = await ing.withDevice(`wd-${DEVICES - 1}`, (store) => store.read((txn) => readings(txn, { limit: 100 }).readings.length));
      expect(seen).toBe(PER_DEVICE);

      expect(await ackAll(ing, 'sql')).toBeGreaterThan(PER_DEVICE);
      const r = await runQuery(source, `SELECT count(*) AS n FROM readings WHERE device = 'sql-${DEVICES - 1}'`);
      expect(r.rows).toEqual([[PER_DEVICE]]);
    } finally {
      await source.close();
      await ing.close();
    }
  });
});
