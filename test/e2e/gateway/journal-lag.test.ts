/**
 * Durability with the journal when applies lag behind the acks: one device commit in
 * flight (`ingest.applyInFlight` = 1) over 50 devices publishing as fast as acks allow,
 * so thousands of acked messages sit in the journal unapplied. The daemon is SIGKILLed
 * while that backlog is large, restarted on the same data and port; the ledger proves
 * every acked reading stored exactly once, and the restart's replay log line proves the
 * kill landed while acked readings were not yet in their devices.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulation } from '../../../firmware-sim/sim.js';
import { verifyLedger } from '../../../firmware-sim/verify.js';
import { dataDirReadingSource } from '../../../firmware-sim/verify-data-dir.js';
import { httpReadingSource } from '../../../firmware-sim/verify-http.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { waitFor } from './http-client.js';

const TIMEOUT = 120_000;
const SLOW_APPLY = { LMJ_EDGE_INGEST_JOURNAL: 'on', LMJ_EDGE_INGEST_APPLY_IN_FLIGHT: '1', LMJ_EDGE_LOG_LEVEL: 'info' };

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function daemon(opts: Parameters<typeof startDaemon>[0]): Promise<DaemonProcess> {
  const d = await startDaemon(opts);
  cleanup.push(() => d.kill('SIGKILL'));
  return d;
}

async function applyBacklog(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(/^lmj_journal_apply_backlog_messages (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The restart's `journal opened and replayed` log line (JSON on stderr). */
function replayLine(d: DaemonProcess): { replayed: number; replayStored: number } {
  const line = d.stderr().split('\n').find((l) => l.includes('journal opened and replayed'));
  expect(line).toBeDefined();
  return JSON.parse(line as string) as { replayed: number; replayStored: number };
}

describe('journal: SIGKILL while applies lag behind the acks', () => {
  it('every acked reading is stored exactly once after the restart replays the journal', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const ledger = join(dir, 'ledger.jsonl');
    const d1 = await daemon({ dataDir: data, env: SLOW_APPLY });
    const sim = new Simulation({
      broker: d1.mqttUrl!, devices: 50, rate: 0, durationS: 4, qos: 1, ledger, seed: 7,
      backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000,
    });
    const run = sim.run();
    let peak = 0;
    await waitFor(async () => (peak = await applyBacklog(d1.httpUrl)) >= 1000, 30_000, 'an apply backlog of 1000 acked messages');
    await d1.kill('SIGKILL');
    const d2 = await daemon({ dataDir: data, mqttPort: d1.mqttPort!, httpPort: d1.httpPort, env: SLOW_APPLY });
    const s = await run;
    const replay = replayLine(d2);
    console.log(`journal lag SIGKILL: backlog at kill >= ${peak}, replayed ${replay.replayed} (stored by replay ${replay.replayStored}), acked ${s.acked}`);
    // Acked before the kill and only in the journal: the replay stored them.
    expect(replay.replayStored).toBeGreaterThan(0);
    expect(replay.replayed).toBeGreaterThanOrEqual(replay.replayStored);
    expect([s.dropped, s.unacked]).toEqual([0, 0]);
    expect(s.ledger?.lines).toBe(s.acked);
    for (const source of [dataDirReadingSource(data), httpReadingSource(d2.httpUrl)]) {
      const v = await verifyLedger(ledger, source);
      expect({ missing: v.missing, duplicate: v.duplicate, conflicts: v.conflicts, checked: v.checked }).toEqual({ missing: 0, duplicate: 0, conflicts: 0, checked: s.acked });
    }
  }, TIMEOUT);
});
