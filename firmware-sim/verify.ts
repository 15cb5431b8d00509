/**
 * `verify`: checks that every reading the ledger says was acknowledged is stored exactly
 * once. Independent of the gateway's dedupe index: it scans each device's `readings`
 * (through the public query API, over HTTP or on the data directory) and counts the
 * stored readings whose top-level `(boot, seq)` equal each ledger entry's.
 *
 * Ledger entries with the same id are one reading (counted once). Two different ids with
 * the same `(device, boot, seq)` — a ledger spanning runs that reused `--boot` — are
 * reported as `conflicts` and expect that many stored readings.
 */
import { readLedger, type LedgerEntry } from './ledger.js';

/** The stored side: every reading of a device with its top-level `seq` and `boot` values. */
export interface ReadingSource {
  /** Readings of one device (none when the device does not exist). */
  scan(deviceId: string): AsyncIterable<{ seq: unknown; boot: unknown }>;
  close(): Promise<void>;
}

/** One ledger key that did not check out. */
export interface VerifyProblem {
  device: string;
  boot: number;
  seq: number;
  expected: number;
  stored: number;
}

/** What `verify` found. `ok` only when nothing is missing and nothing is duplicated. */
export interface VerifyResult {
  ok: boolean;
  /** Distinct acknowledged readings in the ledger (distinct ids). */
  checked: number;
  /** Acknowledged readings not stored. */
  missing: number;
  /** Extra stored copies of acknowledged readings. */
  duplicate: number;
  /** (device, boot, seq) keys claimed by more than one distinct payload in the ledger. */
  conflicts: number;
  devices: number;
  /** Readings scanned on the stored side (for the ledger's devices). */
  stored: number;
  /** Stored readings with no ledger entry (published but never acknowledged, or not ledgered): allowed. */
  unledgered: number;
  ledgerLines: number;
  badLedgerLines: number;
  /** Up to 10 examples of each problem. */
  examples: { missing: VerifyProblem[]; duplicate: VerifyProblem[] };
}

const key = (boot: number, seq: number): string => `${boot}:${seq}`;

/** Groups ledger entries: device → (boot:seq) → distinct ids. */
function expectations(entries: readonly LedgerEntry[]): Map<string, Map<string, Set<string>>> {
  const byDevice = new Map<string, Map<string, Set<string>>>();
  for (const e of entries) {
    let m = byDevice.get(e.device);
    if (m === undefined) byDevice.set(e.device, (m = new Map()));
    const k = key(e.boot, e.seq);
    let ids = m.get(k);
    if (ids === undefined) m.set(k, (ids = new Set()));
    ids.add(e.id);
  }
  return byDevice;
}

/** Checks a ledger file against a reading source; `concurrency` devices are scanned at once. */
export async function verifyLedger(ledgerFile: string, source: ReadingSource, concurrency = 4): Promise<VerifyResult> {
  const { entries, badLines } = readLedger(ledgerFile);
  const expected = expectations(entries);
  const r: VerifyResult = {
    ok: false,
    checked: 0,
    missing: 0,
    duplicate: 0,
    conflicts: 0,
    devices: expected.size,
    stored: 0,
    unledgered: 0,
    ledgerLines: entries.length + badLines,
    badLedgerLines: badLines,
    examples: { missing: [], duplicate: [] },
  };
  const devices = [...expected.keys()];
  const checkDevice = async (device: string): Promise<void> => {
    const want = expected.get(device)!;
    const counts = new Map<string, number>();
    for await (const reading of source.scan(device)) {
      r.stored++;
      const { seq, boot } = reading;
      if (typeof seq !== 'number' || typeof boot !== 'number') {
        r.unledgered++;
        continue;
      }
      const k = key(boot, seq);
      if (want.has(k)) counts.set(k, (counts.get(k) ?? 0) + 1);
      else r.unledgered++;
    }
    for (const [k, ids] of want) {
      const stored = counts.get(k) ?? 0;
      const exp = ids.size;
      r.checked += exp;
      if (exp > 1) r.conflicts++;
      const [boot, seq] = k.split(':').map(Number) as [number, number];
      const problem: VerifyProblem = { device, boot, seq, expected: exp, stored };
      if (stored < exp) {
        r.missing += exp - stored;
        if (r.examples.missing.length < 10) r.examples.missing.push(problem);
      } else if (stored > exp) {
        r.duplicate += stored - exp;
        if (r.examples.duplicate.length < 10) r.examples.duplicate.push(problem);
      }
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < devices.length) await checkDevice(devices[next++]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, devices.length)) }, worker));
  } finally {
    await source.close();
  }
  r.ok = r.missing === 0 && r.duplicate === 0;
  return r;
}
