/**
 * A testing aid, off unless `LMJ_EDGE_TEST_MOVE_HOLD=FILE` is set on a cluster router
 * (docs/cluster.md, Testing a move's failure cases): the move driver then stops at a
 * hold point while FILE names it, so a test can SIGKILL the driver, the source or the
 * target with the move standing at a known step. Nothing is mocked: the real driver
 * waits, the real processes keep running. The hold points (one per phase a move can
 * stand in):
 * - `learner`: the record says `learner` (the target dropped its stale copies);
 * - `copying`, `catching-up`: after the first chunk of a copy pass in that phase, so a
 *   partial copy exists;
 * - `fenced`: after the fence's transaction, before the final delta (which otherwise
 *   starts beside the fence's transaction);
 * - `flipped`: after the flip's transaction, before `done`.
 *
 * While holding, the driver writes `FILE.held` (`{move, point, driver}`), and it goes
 * on once FILE no longer names the point (changed or removed) or it stops leading.
 * Without the variable the runner has no hold and checks nothing.
 */
import { readFile, writeFile } from 'node:fs/promises';

/** Where a move can be held. */
export type MoveHoldPoint = 'learner' | 'copying' | 'catching-up' | 'fenced' | 'flipped';

const POLL_MS = 25;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function named(file: string): Promise<string> {
  return readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
}

/** The hold of one router's move driver, on FILE. */
export class MoveHold {
  constructor(private readonly file: string) {}

  /** True while FILE names `point` (the driver then keeps the final delta behind the `fenced` hold). */
  async names(point: MoveHoldPoint): Promise<boolean> {
    return (await named(this.file)) === point;
  }

  /** Waits while FILE names `point` (or until `leading()` turns false); announces the hold in `FILE.held`. */
  async at(point: MoveHoldPoint, move: string, driver: string, leading: () => boolean): Promise<void> {
    if ((await named(this.file)) !== point) return;
    await writeFile(`${this.file}.held`, JSON.stringify({ move, point, driver }));
    while (leading() && (await named(this.file)) === point) await sleep(POLL_MS);
  }
}
