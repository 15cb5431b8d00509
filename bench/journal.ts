/**
 * Journal benchmark: the cost of making one round of messages from 100 devices
 * durable, measured in the same run for
 *   - baseline (today's path): one engine `writeAsync` per device per round, each
 *     applying the reading as the ingest pipeline does (100 durable LMDB commits);
 *   - journal: one append per device per round, all in one event-loop turn (one
 *     group, one fdatasync);
 *   - journal + apply: the same appends while an applier drains the journaled records
 *     into the device stores in per-device groups (durable writeAsync, then `applied`),
 *     rated by acked records/s and by records/s until everything is durable in the
 *     devices (what the wired pipeline would sustain).
 * Rate = durable records/s; median of BENCH_RUNS runs (default 3), fresh journal dirs,
 * cases interleaved per run (the machine is shared).
 *
 *   npm run build:ts && UV_THREADPOOL_SIZE=64 npm run bench -- journal
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCodec } from '../src/codec/index.js';
import type { Flattened } from '../src/codec/types.js';
import { openStore, type LmjStore } from '../src/core/index.js';
import { applyReadings } from '../src/core/telemetry/apply.js';
import { messageIdentity } from '../src/core/telemetry/identity.js';
import { Journal, type JournalRecord, type Position } from '../src/gateway/journal/index.js';
import { printRateTable, type RateRow } from './lib/report.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 100);
/** Rounds per case, sized so each case takes one or two seconds on a loaded 2-core machine. */
const BASELINE_ROUNDS = Number(process.env['BENCH_BASELINE_ROUNDS'] ?? 10);
const JOURNAL_ROUNDS = Number(process.env['BENCH_JOURNAL_ROUNDS'] ?? 100);
const APPLY_ROUNDS = Number(process.env['BENCH_APPLY_ROUNDS'] ?? 30);
/** Device commits in flight at once in the journal + apply case. */
const APPLY_CONCURRENCY = Number(process.env['BENCH_APPLY_CONCURRENCY'] ?? 4);

interface Message {
  record: JournalRecord;
  flat: Flattened;
}

/**
 * rounds × devices small JSON readings, flattened and identified before timing;
 * `first` numbers them, so every run writes new readings (not duplicates) into the
 * stores that are reused across runs.
 */
function makeMessages(rounds: number, first: number): Message[][] {
  const codec = getCodec();
  const out: Message[][] = [];
  for (let r = 0; r < rounds; r++) {
    out.push(
      Array.from({ length: DEVICES }, (_, d) => {
        const payload = Buffer.from(JSON.stringify({ env: { temp: 20 + ((r + d) % 50) / 10, hum: 40 + (d % 20) }, seq: first + r }));
        const record: JournalRecord = { deviceId: `dev-${d}`, kind: 'telemetry', format: 'json', identity: messageIdentity(payload), receivedAt: Date.now(), payload };
        return { record, flat: codec.flatten(payload, 'json') };
      }),
    );
  }
  return out;
}

function openStores(dir: string): LmjStore[] {
  return Array.from({ length: DEVICES }, (_, d) => openStore(join(dir, 'devices', `dev-${d}`), { mapSize: 8 * 1024 * 1024 }));
}

/** Applies messages to one device in one durable commit (the pipeline's apply). */
function applyTo(store: LmjStore, deviceId: string, msgs: readonly Message[]): Promise<unknown> {
  return store.writeAsync((txn) => applyReadings(txn, deviceId, msgs.map((m) => ({ flat: m.flat, identity: m.record.identity, receivedAt: m.record.receivedAt }))));
}

async function baseline(stores: readonly LmjStore[], rounds: Message[][]): Promise<number> {
  const start = process.hrtime.bigint();
  for (const round of rounds) await Promise.all(round.map((m, d) => applyTo(stores[d]!, m.record.deviceId, [m])));
  return (rounds.length * DEVICES) / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function journalOnly(dir: string, rounds: Message[][]): Promise<number> {
  const j = await Journal.open({ dir: join(dir, 'journal') });
  try {
    const start = process.hrtime.bigint();
    for (const round of rounds) await Promise.all(round.map((m) => j.append([m.record])));
    return (rounds.length * DEVICES) / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    await j.close();
  }
}

/**
 * Journal appends with an applier draining into the stores in per-device groups: at
 * most APPLY_CONCURRENCY device commits in flight (each holds a libuv pool thread
 * through its fsyncs; leaving threads free keeps the journal's fdatasync from queueing
 * behind them), each committing everything its device accumulated meanwhile.
 */
async function journalWithApply(dir: string, stores: readonly LmjStore[], rounds: Message[][]): Promise<{ acked: number; applied: number }> {
  const j = await Journal.open({ dir: join(dir, 'journal') });
  const backlog = new Map<number, { msg: Message; position: Position }[]>();
  const ready: number[] = [];
  const busy = new Set<number>();
  let failure: unknown;
  let drained: (() => void) | undefined;
  const pump = (): void => {
    while (busy.size < APPLY_CONCURRENCY && ready.length > 0) {
      const d = ready.shift()!;
      const items = backlog.get(d)!;
      backlog.delete(d);
      busy.add(d);
      applyTo(stores[d]!, `dev-${d}`, items.map((i) => i.msg))
        .then(() => j.applied(`dev-${d}`, items[items.length - 1]!.position))
        .catch((err: unknown) => (failure ??= err))
        .finally(() => {
          busy.delete(d);
          if (backlog.has(d)) ready.push(d);
          pump();
          if (busy.size === 0 && backlog.size === 0) drained?.();
        });
    }
  };
  try {
    const start = process.hrtime.bigint();
    for (const round of rounds) {
      const positions = await Promise.all(round.map((m) => j.append([m.record])));
      round.forEach((msg, d) => {
        const list = backlog.get(d);
        if (list === undefined) {
          backlog.set(d, [{ msg, position: positions[d]![0]! }]);
          if (!busy.has(d)) ready.push(d);
        } else list.push({ msg, position: positions[d]![0]! });
      });
      pump();
    }
    const ackedSecs = Number(process.hrtime.bigint() - start) / 1e9;
    if (busy.size > 0 || backlog.size > 0) await new Promise<void>((r) => (drained = r));
    if (failure !== undefined) throw failure;
    const appliedSecs = Number(process.hrtime.bigint() - start) / 1e9;
    const n = rounds.length * DEVICES;
    return { acked: n / ackedSecs, applied: n / appliedSecs };
  } finally {
    await j.close();
  }
}

/** Runs the journal benchmark and prints its table. */
export async function runJournalBench(): Promise<void> {
  const rates = { baseline: [] as number[], journal: [] as number[], acked: [] as number[], applied: [] as number[] };
  const cases = ['baseline', 'journal', 'apply'] as const;
  // Opening 100 LMDB environments takes seconds on a loaded machine: one set per store
  // case, opened once and reused by every run (each run writes new readings).
  const storeDir = mkdtempSync(join(tmpdir(), 'lmj-bench-journal-stores-'));
  const baseStores = openStores(join(storeDir, 'baseline'));
  const applyStores = openStores(join(storeDir, 'apply'));
  try {
    for (let run = -1; run < RUNS; run++) {
      const first = (run + 1) * 1_000_000;
      for (let k = 0; k < cases.length; k++) {
        const which = cases[(Math.max(run, 0) + k) % cases.length]!;
        const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-journal-'));
        try {
          if (which === 'baseline') {
            const r = await baseline(baseStores, makeMessages(BASELINE_ROUNDS, first));
            if (run >= 0) rates.baseline.push(r);
          } else if (which === 'journal') {
            const r = await journalOnly(dir, makeMessages(JOURNAL_ROUNDS, first));
            if (run >= 0) rates.journal.push(r);
          } else {
            const r = await journalWithApply(dir, applyStores, makeMessages(APPLY_ROUNDS, first));
            if (run >= 0) {
              rates.acked.push(r.acked);
              rates.applied.push(r.applied);
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await Promise.all([...baseStores, ...applyStores].map((s) => s.close()));
    rmSync(storeDir, { recursive: true, force: true });
  }
  const base = 'writeAsync per device per round (today)';
  const rows: RateRow[] = [
    { name: base, rates: rates.baseline, unit: 'rec/s' },
    { name: 'journal append, one group per round', rates: rates.journal, baseline: base, unit: 'rec/s' },
    { name: 'journal + apply alongside: acked', rates: rates.acked, baseline: base, unit: 'rec/s' },
    { name: 'journal + apply alongside: durable in devices', rates: rates.applied, baseline: base, unit: 'rec/s' },
  ];
  const threads = process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)';
  printRateTable(`${DEVICES} devices, one small reading per device per round, durable (apply: ${APPLY_CONCURRENCY} device commits in flight; UV_THREADPOOL_SIZE ${threads})`, rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runJournalBench();
