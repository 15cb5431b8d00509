/**
 * The grouped `writeAsync` commit of one store. Callbacks queued in one event-loop turn
 * join one lmdb-js async transaction: the callbacks run on this thread inside the write
 * transaction lmdb-js's writer holds, while the commit and its fsyncs run in napi async
 * work on the libuv threadpool, so many stores commit in parallel. Each group runs in one
 * child transaction (a full map aborts the whole group, which then runs again bigger)
 * and, when there are several callbacks, each in its own grandchild (a throwing callback
 * is rolled back alone). One group is in flight per store, so growth can close and
 * reopen the environment between groups.
 */
import { LmjError } from '../errors.js';
import type { EngineContext } from './engine-context.js';
import { MDB_MAP_FULL, commitFailure, isMapFull, wrapError } from './lmdb-errors.js';
import { MAX_GROWTHS, type MapGrowth } from './map-growth.js';
import { Txn, assertSync } from './txn.js';
import type { WriteTxn } from './types.js';

/** The most callbacks one grouped commit takes; the rest go to the next commit. */
export const MAX_GROUP = 1000;

interface Queued {
  fn: (txn: WriteTxn) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Thrown inside a group when the map is full: aborts the group's child transaction. */
const GROUP_MAP_FULL = Symbol('map full');

/** What the committer tells its store. */
export interface GroupCommitHooks {
  /** A group committed (fast mode schedules its flush). */
  committed(): void;
  /** Brackets the callbacks' run: sync writes must not nest inside it. */
  setWriting(writing: boolean): void;
}

/** Queues `writeAsync` callbacks and commits them group after group. */
export class GroupCommitter {
  private queue: Queued[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  /** A requested growth, done before the next group. */
  private growTo = 0;
  /** Set once an lmdb-js async write ran: from then on growth must await the close. */
  asyncUsed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly growth: MapGrowth,
    private readonly hooks: GroupCommitHooks,
  ) {}

  /** Queues one callback; resolves with its value after its group is durable. */
  enqueue<T>(fn: (txn: WriteTxn) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Asks the drain to grow the map before its next group. */
  requestGrowth(size: number): void {
    this.growTo = Math.max(this.growTo, size);
    this.schedule();
  }

  /** Resolves once every queued callback has committed or failed. */
  async idle(): Promise<void> {
    while (this.scheduled || this.queue.length > 0 || this.inFlight !== undefined) {
      if (this.inFlight !== undefined) await this.inFlight;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every writeAsync of this event-loop turn join one commit.
    setImmediate(() => void this.drain());
  }

  /** Commits queued callbacks, one group in flight, until the queue is empty. */
  private async drain(): Promise<void> {
    let done!: () => void;
    this.inFlight = new Promise<void>((r) => (done = r));
    try {
      while (this.queue.length > 0 || this.growTo > 0) {
        if (this.growTo > 0) {
          await this.pendingGrowth();
          continue;
        }
        const group = this.queue.splice(0, MAX_GROUP);
        let outcomes: Outcome[];
        try {
          outcomes = await this.commitGroup(group);
          this.hooks.committed();
        } catch (error) {
          const wrapped = wrapError(error);
          for (const q of group) q.reject(wrapped);
          continue;
        }
        for (let i = 0; i < group.length; i++) {
          const o = outcomes[i]!;
          if (o.ok) group[i]!.resolve(o.value);
          else group[i]!.reject(o.error);
        }
      }
    } finally {
      this.scheduled = false;
      this.inFlight = undefined;
      done();
    }
  }

  private async pendingGrowth(): Promise<void> {
    const size = this.growTo;
    this.growTo = 0;
    if (size <= this.ctx.h.mapSize) return;
    try {
      await this.growth.growAfterClose(size);
    } catch {
      // Keep going at the old size; a write that needs the space reports MAP_FULL.
    }
  }

  /** One lmdb-js async transaction for a group; on a full map grows and runs it again. */
  private async commitGroup(group: Queued[]): Promise<Outcome[]> {
    for (let attempt = 0; ; attempt++) {
      const h = this.ctx.h;
      this.asyncUsed = true;
      try {
        // Resolves after mdb_txn_commit returned on the writer thread; without
        // MDB_OVERLAPPINGSYNC (our data-v1 build) that commit includes both fsyncs.
        const outcomes = (await h.main.transaction(() => this.runGroupInChild(group))) as Outcome[];
        // lmdb-js renews its shared read snapshot only on a later turn after an async
        // commit; callers read right after the promise resolves and must see their write.
        if (this.ctx.isOpen && this.ctx.h === h) h.root.resetReadTxn();
        const ahead = this.growth.aheadTarget();
        if (ahead > 0) await this.growth.growAfterClose(ahead);
        return outcomes;
      } catch (thrown) {
        const error = await commitFailure(thrown);
        const next = this.growth.nextSize();
        if (!isMapFull(error) || attempt >= MAX_GROWTHS || next === 0) throw wrapError(error);
        await this.growth.growAfterClose(next);
      }
    }
  }

  /** Runs inside lmdb-js's async write transaction: the group in one child transaction. */
  private runGroupInChild(group: Queued[]): Outcome[] {
    const main = this.ctx.h.main;
    this.hooks.setWriting(true);
    try {
      return main.childTransaction(() => {
        const outcomes = this.runGroup(group);
        // A full map poisons what the group wrote: abort it all, grow, run it again.
        if (outcomes === GROUP_MAP_FULL) throw new LmjError('STORE_IO', 'MDB_MAP_FULL', { details: { lmdb: MDB_MAP_FULL } });
        return outcomes;
      }) as Outcome[];
    } finally {
      this.hooks.setWriting(false);
    }
  }

  /** The callbacks of a group in the current write transaction. */
  private runGroup(group: Queued[]): Outcome[] | typeof GROUP_MAP_FULL {
    const main = this.ctx.h.main;
    const outcomes: Outcome[] = [];
    for (const q of group) {
      const txn = new Txn(this.ctx, true);
      try {
        const value =
          group.length === 1
            ? q.fn(txn)
            : main.childTransaction(() => {
                const r = q.fn(txn);
                assertSync(r);
                return r;
              });
        assertSync(value);
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (isMapFull(error)) return GROUP_MAP_FULL;
        // A lone callback that threw: the group's child (all it wrote) must not commit.
        if (group.length === 1) throw error;
        outcomes.push({ ok: false, error: wrapError(error) });
      } finally {
        txn.finished = true;
      }
    }
    return outcomes;
  }
}
