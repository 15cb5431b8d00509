import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageIdentity } from '../../../src/core/telemetry/identity.js';
import { isLmjError } from '../../../src/errors.js';
import { payloadIdentity } from '../../../firmware-sim/identity.js';
import { LatencyHistogram } from '../../../firmware-sim/latency.js';
import { LedgerWriter, readLedger } from '../../../firmware-sim/ledger.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe('ledger', () => {
  it('round-trips entries as JSON lines, buffered until flush or close', () => {
    const file = join(tmpDir(), 'ledger.jsonl');
    const w = new LedgerWriter(file, 60_000);
    w.append({ device: 'sim-1', seq: 0, boot: 4, id: 'ab'.repeat(16), ackedAt: 1 });
    expect(readFileSync(file, 'utf8')).toBe('');
    w.flush();
    expect(w.written).toBe(1);
    w.append({ device: 'sim-"2"', seq: 9, boot: 4, id: 'cd'.repeat(16), ackedAt: 2 });
    w.close();
    const { entries, badLines } = readLedger(file);
    expect(badLines).toBe(0);
    expect(entries).toEqual([
      { device: 'sim-1', seq: 0, boot: 4, id: 'ab'.repeat(16), ackedAt: 1 },
      { device: 'sim-"2"', seq: 9, boot: 4, id: 'cd'.repeat(16), ackedAt: 2 },
    ]);
  });

  it('counts a torn last line and malformed lines instead of failing', () => {
    const file = join(tmpDir(), 'ledger.jsonl');
    const w = new LedgerWriter(file);
    w.append({ device: 'd', seq: 1, boot: 1, id: '00'.repeat(16), ackedAt: 5 });
    w.close();
    appendFileSync(file, '{"device":"d","seq":2,"boot":1,"id":"x"}\n{"device":"d","se');
    const { entries, badLines } = readLedger(file);
    expect(entries).toHaveLength(1);
    expect(badLines).toBe(2);
  });

  it('a missing ledger file is BAD_CONFIG', () => {
    expect(() => readLedger(join(tmpDir(), 'nope.jsonl'))).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    try {
      new LedgerWriter(join(tmpDir(), 'no-such-dir', 'l.jsonl'));
    } catch (err) {
      expect(isLmjError(err, 'BAD_CONFIG')).toBe(true);
      return;
    }
    throw new Error('expected BAD_CONFIG');
  });

  it('ledger ids are the gateway message identity of the payload', () => {
    for (const p of ['{"seq":1}', '', '\u00ff'.repeat(300)]) {
      const bytes = Buffer.from(p, 'utf8');
      expect(payloadIdentity(bytes).equals(messageIdentity(bytes))).toBe(true);
    }
  });
});

describe('latency histogram', () => {
  it('answers quantiles within 2 % and the exact max', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 100);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.max).toBe(100);
    expect(Math.abs(s.p50 - 50) / 50).toBeLessThan(0.02);
    expect(Math.abs(s.p99 - 99) / 99).toBeLessThan(0.02);
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });
});
