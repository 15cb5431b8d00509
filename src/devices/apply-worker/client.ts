/**
 * The device-apply worker: one worker thread that does the durable writes of device
 * groups (flatten + apply + commit) off the process's main thread, which keeps its
 * brokers, journal, acks and reads. Built for any holder of a {@link DevicePool} (the
 * gateway's journal applier; a router data node's catch-up could use it the same way).
 *
 * Ownership, and why it is a hand-off: the lmdb-js build this project needs (LMDB data
 * format v1, without MDB_OVERLAPPINGSYNC) does not share an environment between threads
 * — each open is its own MDB_env — and liblmdb forbids opening one environment twice in
 * a process: the second open takes the lock file's "first opener" path and resets its
 * reader table under the first (measured: the main thread's next read then fails with
 * EINVAL). So at any moment a device's instance is open in at most one thread. The
 * worker borrows the device from its pool ({@link DevicePool.lend}: an exclusive hold
 * that lasts): the pool waits for the device's current users, closes its own handle and
 * queues new uses, and the worker opens the instance at its first group and keeps it
 * open across the device's next groups. When the pool needs the device (a read,
 * compaction, retention, an eviction for a slot, invalidate, quarantine, close) it asks
 * for it back: the worker finishes the group in flight, closes the instance and ends the
 * loan, and the queued use reopens it on the main thread. A loan also goes back by
 * itself after {@link ApplyWorkerOptions.idleMs} without a group. Everything the pool's
 * exclusive hold guarantees holds for the worker too: compaction, salvage and quarantine
 * (checked when the loan starts) never overlap a worker's commit; the in-use log records
 * the loan like an open, and leaves it recorded when the worker died (the instance is
 * verified at the next start); a loan counts against the pool's open-instance cap.
 *
 * A worker that ends (crash, out of memory, {@link ApplyWorker.terminate}) fails every
 * request in flight with APPLY_WORKER_LOST; the next request starts a new thread. The
 * caller keeps those records unapplied (they are durable in its journal) and sends them
 * again: a commit that did complete before the end makes them duplicates by identity.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FlattenLimits } from '../../codec/types.js';
import type { GroupEntry } from '../../core/telemetry/apply-group.js';
import type { Durability } from '../../core/types.js';
import { LmjError } from '../../errors.js';
import type { DevicePool } from '../pool/types.js';
import { Lender } from './lender.js';
import { packRecords, type ApplyReply, type ApplyRequest, type GroupRecord, type WireOutcome, type WorkerRequest } from './protocol.js';
import { fromWire } from './wire-error.js';

/**
 * How long a lent instance stays open in the worker without a group before it goes back
 * to the pool, ms. Measured in process (100 devices, `safe`, waves of 2,000 messages, 4
 * device commits in flight, load average 17–23): groups grow with the backlog and a hot
 * device's next group came 5–9 s after its last (p50 6.5 s, max 9.3 s), so a 1 s idle
 * time gave every group its own open. Keeping a device lent costs nothing but a recall
 * round trip (a close in the worker) when the main thread needs it first.
 */
export const DEFAULT_IDLE_MS = 10_000;

/** Options of one worker thread (shared by every pool it applies for). */
export interface ApplyWorkerOptions {
  /** A worker thread ended with requests or without (counted by the caller). */
  onExit?(info: { exitCode: number; inFlight: number; error?: unknown }): void;
  /** A lent instance idle this long goes back to its pool, ms (default {@link DEFAULT_IDLE_MS}). */
  idleMs?: number;
}

/** Where a group goes: the pool that holds the device, and how its instances are opened and its payloads flattened. */
export interface ApplyTarget {
  pool: DevicePool;
  durability: Durability;
  mapSize?: number;
  flattenLimits: Partial<FlattenLimits>;
}

/** The result of one group: one outcome per record, and the root stats (null when nothing was written). */
export interface GroupResult {
  outcomes: WireOutcome[];
  entry: GroupEntry | null;
}

/** Counters of the worker. */
export interface ApplyWorkerStats {
  /** Groups sent. */
  groups: number;
  /** Threads started (the first one included). */
  starts: number;
  /** Groups failed with APPLY_WORKER_LOST. */
  lost: number;
  /** Groups in the worker now. */
  inFlight: number;
  /** Loans taken from the pools (each one an instance open in the worker). */
  loans: number;
  /** Gauge: instances lent to the worker now. */
  lent: number;
}

/** Starts the worker thread: the compiled `worker.js` in dist/; from src/ (tests) through tsx, as src/core/compact-thread.ts does. */
function startThread(): Worker {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new Worker(join(dirname(here), 'worker.js'));
  const api = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
  const entry = pathToFileURL(join(dirname(here), 'worker.ts')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(code, { eval: true });
}

/** One worker thread applying device groups under their pools' exclusive holds (one thread may serve several pools). */
export class ApplyWorker {
  private thread: Worker | undefined;
  /** Requests unanswered: groups (`group` true) and closes of lent instances. */
  private readonly pending = new Map<number, { resolve(r: ApplyReply): void; reject(e: LmjError): void; group: boolean }>();
  private groupsInFlight = 0;
  private nextId = 0;
  private closed = false;
  /** Callers of {@link close} waiting for the last group in flight. */
  private drained: (() => void)[] = [];
  private readonly counters = { groups: 0, starts: 0, lost: 0 };
  private readonly lender: Lender;

  constructor(private readonly opts: ApplyWorkerOptions = {}) {
    this.lender = new Lender({ idleMs: opts.idleMs ?? DEFAULT_IDLE_MS, close: (dir) => this.closeInThread(dir) });
  }

  stats(): ApplyWorkerStats {
    return { ...this.counters, inFlight: this.groupsInFlight, loans: this.lender.loans, lent: this.lender.size };
  }

  /**
   * Applies one device's records (in order) in one durable commit in the worker. Rejects
   * with the commit's error (rebuilt: code, details, cause's system code), with the pool's
   * (DEVICE_UNAVAILABLE for a quarantined device, SHUTTING_DOWN), or APPLY_WORKER_LOST.
   */
  async apply(target: ApplyTarget, deviceId: string, records: readonly GroupRecord[]): Promise<GroupResult> {
    if (this.closed) throw new LmjError('SHUTTING_DOWN', 'the apply worker is closed');
    const lent = await this.lender.borrow(target.pool, deviceId);
    const reply = await this.lender.use(lent, () => this.send(target, lent.loan.dir, deviceId, records));
    if (reply.ok && 'outcomes' in reply) return { outcomes: reply.outcomes, entry: reply.entry };
    // The worker closed the instance after the failed commit: the loan ends.
    this.lender.ended(lent, true);
    throw reply.ok ? new LmjError('STORE_IO', 'the apply worker answered a group with a close') : fromWire(reply.error);
  }

  private send(target: ApplyTarget, dir: string, deviceId: string, records: readonly GroupRecord[]): Promise<ApplyReply> {
    const buf = packRecords(records);
    const req: ApplyRequest = {
      type: 'apply', id: 0, dir, deviceId, durability: target.durability, records: buf, count: records.length, flattenLimits: target.flattenLimits,
      ...(target.mapSize === undefined ? {} : { mapSize: target.mapSize }),
    };
    this.counters.groups++;
    return this.post(req, [buf]);
  }

  /** Asks the thread to close a lent instance; resolves once it did (or the thread is gone, which closed it). */
  private async closeInThread(dir: string): Promise<void> {
    if (this.thread === undefined) return;
    await this.post({ type: 'close', id: 0, dir }, []).catch((err: unknown) => {
      if (!(err instanceof LmjError && err.code === 'APPLY_WORKER_LOST')) throw err;
    });
  }

  private post(req: WorkerRequest, transfer: ArrayBuffer[]): Promise<ApplyReply> {
    const thread = this.ensureThread();
    const id = ++this.nextId;
    req.id = id;
    return new Promise<ApplyReply>((resolve, reject) => {
      const group = req.type === 'apply';
      if (group) this.groupsInFlight++;
      const done = (): void => {
        if (group) this.groupsInFlight--;
      };
      this.pending.set(id, { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)), group });
      // Referenced only while it has work: an idle worker never keeps the process alive.
      if (this.pending.size === 1) thread.ref();
      thread.postMessage(req, transfer);
    });
  }

  private ensureThread(): Worker {
    if (this.thread !== undefined) return this.thread;
    const thread = startThread();
    this.counters.starts++;
    let failure: unknown;
    thread.on('message', (reply: ApplyReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      p.resolve(reply);
      if (this.pending.size === 0) {
        thread.unref();
        this.wakeDrained();
      }
    });
    thread.on('error', (err) => (failure = err));
    thread.once('exit', (exitCode) => {
      if (this.thread === thread) this.thread = undefined;
      const unanswered = [...this.pending.values()];
      this.pending.clear();
      const lost = unanswered.filter((p) => p.group);
      this.counters.lost += lost.length;
      const error = new LmjError('APPLY_WORKER_LOST', `the device-apply worker ended (exit code ${exitCode}) with ${lost.length} group(s) unanswered`, {
        cause: failure,
        details: { exitCode, inFlight: lost.length },
      });
      for (const p of unanswered) p.reject(error);
      // The thread's instances went with it: its loans end, left suspect in the in-use log.
      this.lender.lostAll();
      this.wakeDrained();
      try {
        this.opts.onExit?.({ exitCode, inFlight: lost.length, ...(failure === undefined ? {} : { error: failure }) });
      } catch {
        // A metrics/logging hook; its failure must not affect the applies.
      }
    });
    thread.unref();
    this.thread = thread;
    return thread;
  }

  /**
   * Ends the thread now, as a crash would: groups in flight fail with APPLY_WORKER_LOST
   * (their commits may or may not have happened; a re-apply is a duplicate by identity).
   * The next {@link apply} starts a new thread.
   */
  async terminate(): Promise<void> {
    const thread = this.thread;
    if (thread === undefined) return;
    await thread.terminate();
    // 'exit' has run: the requests are failed and the thread is forgotten.
  }

  /** Refuses new groups, waits for those in flight, gives every lent instance back, ends the thread. */
  async close(): Promise<void> {
    this.closed = true;
    await this.lender.giveBackAll();
    if (this.pending.size > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await this.terminate();
  }

  private wakeDrained(): void {
    const waiters = this.drained;
    this.drained = [];
    for (const w of waiters) w();
  }
}
