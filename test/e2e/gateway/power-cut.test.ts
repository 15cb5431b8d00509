/**
 * Power cuts, not only SIGKILL: the daemon runs under the power-cut shim, is cut after a
 * seeded number of acks, and restarts on only the bytes a sync made durable
 * (docs/power-cut.md). `safe` must lose and break nothing; `fast` must be caught losing
 * acked readings, which proves the harness can fail.
 *
 * POWERCUT_RUNS (default 3) cuts per case, POWERCUT_SEED (default 20261201) the first
 * seed; every cut prints one line (seed, mode, what was found).
 */
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { runCut, type CutOutcome, type CutRun } from './power-cut-run.js';

const RUNS = Number(process.env.POWERCUT_RUNS ?? 3);
const SEED = Number(process.env.POWERCUT_SEED ?? 20261201);
/** Per cut: two daemon starts, a sim run, verify and audits as child processes, on a loaded 2-core box. */
const PER_CUT_MS = 60_000;

if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error(`POWERCUT_RUNS must be a positive integer, got ${process.env.POWERCUT_RUNS}`);
if (!Number.isSafeInteger(SEED)) throw new Error(`POWERCUT_SEED must be an integer, got ${process.env.POWERCUT_SEED}`);

async function cuts(base: number, make: (seed: number, i: number) => Omit<CutRun, 'dir' | 'seed'>, n = RUNS): Promise<CutOutcome[]> {
  const out: CutOutcome[] = [];
  for (let i = 0; i < n; i++) {
    const o = await runCut({ dir: tmpDir('lmj-powercut-'), seed: base + i, ...make(base + i, i) });
    console.log(o.line);
    out.push(o);
  }
  return out;
}

function expectClean(outcomes: CutOutcome[]): void {
  expect(outcomes.length).toBeGreaterThan(0);
  for (const o of outcomes) {
    expect(o.problems, o.line).toEqual([]);
    // The cut really dropped writes and the run really acked what verify checked.
    expect(o.cut.undone, o.line).toBeGreaterThan(0);
    expect(o.verify.checked, o.line).toBe(o.sim.acked);
    expect(o.sim.acked, o.line).toBeGreaterThanOrEqual(o.cutAfterAcks);
  }
}

describe('power cuts of the daemon (LD_PRELOAD undo-log harness)', () => {
  it(
    'safe, embedded broker: every acked reading survives exactly once, stores open, no ghosts, dead letters kept',
    async () => {
      // Alternate the two cut models: every unsynced write dropped, or a random subset of dirty pages kept.
      expectClean(await cuts(SEED, (_s, i) => ({ durability: 'safe', mode: i % 2 === 0 ? 'drop' : 'torn', upstream: false })));
    },
    PER_CUT_MS * RUNS,
  );

  it(
    'safe, with an upstream router: the outbox resumes after the cut and the router gets every acked reading once',
    async () => {
      expectClean(await cuts(SEED + 1000, (_s, i) => ({ durability: 'safe', mode: i % 2 === 0 ? 'torn' : 'drop', upstream: true })));
    },
    PER_CUT_MS * RUNS,
  );

  it(
    'fast: the harness catches the loss of acked readings (the cut is not a SIGKILL)',
    async () => {
      const n = Math.max(RUNS, 3);
      const outcomes = await cuts(SEED + 2000, () => ({ durability: 'fast', mode: 'drop', upstream: false }), n);
      const lost = outcomes.filter((o) => o.verify.missing > 0);
      console.log(`fast: ${lost.length} of ${n} cuts lost acked readings`);
      expect(lost.length).toBeGreaterThan(0);
    },
    PER_CUT_MS * 3 * Math.max(RUNS, 3),
  );
});
