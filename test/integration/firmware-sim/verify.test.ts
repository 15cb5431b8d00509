/**
 * `verify` against a real data directory written by the real ingest pipeline: it must
 * count (boot, seq) matches itself, so two different payloads claiming the same reading
 * (which the gateway's identity dedupe rightly stores twice) show up as a duplicate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createIngestor } from '../../../src/gateway/ingest/index.js';
import { payloadIdentity } from '../../../firmware-sim/identity.js';
import type { LedgerEntry } from '../../../firmware-sim/ledger.js';
import { verifyLedger } from '../../../firmware-sim/verify.js';
import { dataDirReadingSource } from '../../../firmware-sim/verify-data-dir.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { ROOT } from '../../helpers/daemon.js';

const reading = (seq: number, boot: number, ts: number): Buffer => Buffer.from(JSON.stringify({ seq, boot, ts, temp: 20.5 }));
const entry = (device: string, seq: number, boot: number, payload: Buffer): LedgerEntry => ({
  device,
  seq,
  boot,
  id: payloadIdentity(payload).toString('hex'),
  ackedAt: 1,
});

async function store(dataDir: string, msgs: [string, Buffer][]): Promise<void> {
  const ing = await createIngestor({ dataDir });
  try {
    const results = await Promise.all(msgs.map(([device, payload]) => ing.submit({ topic: `devices/${device}/telemetry`, payload, qos: 1 })));
    for (const r of results) expect(['stored', 'duplicate']).toContain(r.status);
  } finally {
    await ing.close();
  }
}

function writeLedger(file: string, entries: LedgerEntry[], tail = ''): void {
  writeFileSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join('') + tail);
}

describe('verify on a real data directory', () => {
  it('reports checked, missing, duplicate and unledgered readings', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const a0 = reading(0, 5, 1000);
    const a1 = reading(1, 5, 1001);
    const a1again = reading(1, 5, 1002); // same (boot, seq), different bytes: stored twice
    const b0 = reading(0, 5, 1000);
    const extra = reading(7, 5, 1003);
    const rebooted = reading(0, 6, 1004);
    await store(data, [
      ['dev-a', a0],
      ['dev-a', a0], // a redelivery: deduped by identity, stored once
      ['dev-a', a1],
      ['dev-a', a1again],
      ['dev-a', extra],
      ['dev-a', rebooted],
      ['dev-b', b0],
    ]);
    const ledger = join(dir, 'ledger.jsonl');
    writeLedger(
      ledger,
      [
        entry('dev-a', 0, 5, a0),
        entry('dev-a', 0, 5, a0), // the same acked reading twice in the ledger counts once
        entry('dev-a', 1, 5, a1),
        entry('dev-a', 0, 6, rebooted),
        entry('dev-a', 9, 5, reading(9, 5, 1)), // acked, never stored
        entry('dev-b', 0, 5, b0),
        entry('dev-c', 0, 5, reading(0, 5, 1)), // a device the gateway never saw
        entry('../x', 0, 5, reading(0, 5, 2)), // an invalid id never becomes a path
      ],
      '{"device":"dev-b","seq":1,', // torn last line of a killed sim
    );
    const v = await verifyLedger(ledger, dataDirReadingSource(data));
    expect(v).toMatchObject({
      ok: false,
      checked: 7,
      missing: 3,
      duplicate: 1,
      conflicts: 0,
      devices: 4,
      stored: 6,
      unledgered: 1,
      badLedgerLines: 1,
    });
    expect(v.examples.duplicate).toEqual([{ device: 'dev-a', boot: 5, seq: 1, expected: 1, stored: 2 }]);
    expect(v.examples.missing.map((p) => `${p.device}:${p.seq}`).sort()).toEqual(['../x:0', 'dev-a:9', 'dev-c:0']);
    // verify only reads: no instance was created for the unknown devices.
    expect(readdirSync(join(data, 'devices')).sort()).toEqual(['dev-a', 'dev-b']);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('an instance with an empty data.mdb (created, never synced, then a power cut) has no readings: its acked ones are missing', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const a = reading(0, 1, 10);
    const b = reading(0, 1, 11);
    await store(data, [['cut', a], ['kept', b]]);
    truncateSync(join(data, 'devices', 'cut', 'data.mdb'), 0);
    const ledger = join(dir, 'ledger.jsonl');
    writeLedger(ledger, [entry('cut', 0, 1, a), entry('kept', 0, 1, b)]);
    const v = await verifyLedger(ledger, dataDirReadingSource(data));
    expect(v).toMatchObject({ ok: false, checked: 2, missing: 1, duplicate: 0, stored: 1 });
    expect(v.examples.missing.map((p) => p.device)).toEqual(['cut']);
  });

  it('the CLI exits 0 only when nothing is missing or duplicated', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const p = [reading(0, 1, 10), reading(1, 1, 11)];
    await store(data, [['d1', p[0]!], ['d1', p[1]!]]);
    const ledger = join(dir, 'ledger.jsonl');
    // The compiled standalone entry, as users run it (npm run build first).
    const main = join(ROOT, 'dist', 'firmware-sim', 'main.js');
    expect(existsSync(main), `${main} missing: run npm run build:ts`).toBe(true);
    const run = (): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [main, 'verify', '--ledger', ledger, '--data', data, '--json'], { cwd: ROOT, encoding: 'utf8' });

    writeLedger(ledger, [entry('d1', 0, 1, p[0]!), entry('d1', 1, 1, p[1]!)]);
    let r = run();
    expect(r.status).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ ok: true, checked: 2, missing: 0, duplicate: 0 });

    writeLedger(ledger, [entry('d1', 0, 1, p[0]!), entry('d1', 2, 1, reading(2, 1, 12))]);
    r = run();
    expect(r.status).toBe(1);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ ok: false, checked: 2, missing: 1, duplicate: 0 });

    r = spawnSync(process.execPath, [main, 'verify', '--ledger', ledger], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(String(r.stderr)).toMatch(/exactly one of --data DIR or --http URL/);
  });
});
