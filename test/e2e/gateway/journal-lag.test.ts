/**
 * Durability with the journal when applies lag behind the acks: one device commit in
 * flight (`ingest.applyInFlight` = 1) over 50 devices publishing as fast as acks allow,
 * so thousands of acked messages sit in the journal unapplied. The daemon is SIGKILLed
 * once that backlog is large, restarted on the same data and ports (default apply
 * concurrency), and the fleet goes on publishing to the restart until it acked more.
 *
 * Every acked reading must then be readable exactly once through the running daemon
 * (its reads wait for the apply: docs/daemon.md). The device stores themselves hold only
 * what is applied; a scan of them beside a daemon that still has an apply backlog misses
 * the acked-but-unapplied readings, which are in the journal. So the stores are checked
 * after a second SIGKILL and a restart whose replay has applied everything (it takes no
 * new message before, and the fleet has stopped), which is the state the journal guarantees.
 *
 * Every wait is on a condition (backlog, ack counts, process exit), never a fixed time.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../../firmware-sim/sim.js';
import { verifyLedger, type ReadingSource } from '../../../firmware-sim/verify.js';
import { dataDirReadingSource } from '../../../firmware-sim/verify-data-dir.js';
import { httpReadingSource } from '../../../firmware-sim/verify-http.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { waitFor } from './http-client.js';

const TIMEOUT = 240_000;
/** Upper bound of a daemon start (an event wait, not a delay). */
const START_TIMEOUT = 90_000;
const JOURNAL = { LMJ_EDGE_INGEST_JOURNAL: 'on', LMJ_EDGE_LOG_LEVEL: 'info' };
const SLOW_APPLY = { ...JOURNAL, LMJ_EDGE_INGEST_APPLY_IN_FLIGHT: '1' };
/** Acked messages the first daemon holds unapplied when it is killed. */
const BACKLOG_AT_KILL = 1000;
/** Messages the restarted daemon acks before the fleet stops. */
const ACKED_AFTER_RESTART = 500;

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

/** The start's `journal opened and replayed` log line (JSON on stderr). */
function replayLine(d: DaemonProcess): { replayed: number; replayStored: number } {
  const line = d.stderr().split('\n').find((l) => l.includes('journal opened and replayed'));
  expect(line).toBeDefined();
  return JSON.parse(line as string) as { replayed: number; replayStored: number };
}

async function expectExactlyOnce(ledger: string, source: ReadingSource, acked: number): Promise<void> {
  const v = await verifyLedger(ledger, source);
  expect({ missing: v.missing, duplicate: v.duplicate, conflicts: v.conflicts, checked: v.checked }).toEqual({ missing: 0, duplicate: 0, conflicts: 0, checked: acked });
}

describe('journal: SIGKILL while applies lag behind the acks', () => {
  it('every acked reading is stored exactly once after the restart replays the journal', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const ledger = join(dir, 'ledger.jsonl');
    const d1 = await startDaemon({ dataDir: data, env: SLOW_APPLY, timeoutMs: START_TIMEOUT });
    // The duration is only an upper bound: the fleet is stopped once the restart acked enough.
    const sim = new Simulation({
      broker: d1.mqttUrl!, devices: 50, rate: 0, durationS: 60, qos: 1, ledger, seed: 7,
      backoffMinMs: 50, backoffMaxMs: 300, drainTimeoutMs: 30_000,
    });
    const run = sim.run();
    let peak = 0;
    await waitFor(async () => (peak = await metric(d1.httpUrl, 'lmj_journal_apply_backlog_messages')) >= BACKLOG_AT_KILL, 60_000, `an apply backlog of ${BACKLOG_AT_KILL}`);
    await d1.kill('SIGKILL');
    // The start includes the replay: its time grows with the machine's load, so the bound is wide.
    const d2 = await startDaemon({ dataDir: data, mqttPort: d1.mqttPort!, httpPort: d1.httpPort, env: JOURNAL, timeoutMs: START_TIMEOUT });
    const first = replayLine(d2);
    await waitFor(async () => (await metric(d2.httpUrl, 'lmj_messages_acked_total')) >= ACKED_AFTER_RESTART, 60_000, `${ACKED_AFTER_RESTART} acks by the restart`);
    sim.stop();
    const s = await run;
    const backlogAtEnd = await metric(d2.httpUrl, 'lmj_journal_apply_backlog_messages');
    const ackedByRestart = await metric(d2.httpUrl, 'lmj_messages_acked_total');
    expect([s.dropped, s.unacked]).toEqual([0, 0]);
    expect(s.ledger?.lines).toBe(s.acked);
    // Through the daemon: reads wait for the apply, so nothing acked is missing even now.
    await expectExactlyOnce(ledger, httpReadingSource(d2.httpUrl), s.acked).catch((err: unknown) => {
      // The daemon's warnings and errors say why a read failed (a quarantine verdict, a failed open).
      console.error(d2.stderr().split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-40).join('\n'));
      throw err;
    });

    await d2.kill('SIGKILL');
    const d3 = await startDaemon({ dataDir: data, env: JOURNAL, timeoutMs: START_TIMEOUT });
    const second = replayLine(d3);
    console.log(
      `journal lag SIGKILL: backlog at kill >= ${peak}, replayed ${first.replayed} (stored ${first.replayStored}); ` +
        `restart acked ${ackedByRestart}, backlog at fleet end ${backlogAtEnd}; ` +
        `second replay ${second.replayed} (stored ${second.replayStored}); acked in all ${s.acked}`,
    );
    // Acked before the first kill and only in the journal: the replay stored them.
    expect(first.replayStored).toBeGreaterThan(0);
    expect(first.replayed).toBeGreaterThanOrEqual(first.replayStored);
    // The replay has applied everything and d3 took no message: the stores hold it all.
    await expectExactlyOnce(ledger, dataDirReadingSource(data), s.acked);
  }, TIMEOUT);
});
