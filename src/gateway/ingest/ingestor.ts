/**
 * The Ingestor: admission (./admission.ts: the downstream gates and a bounded queue,
 * the one place back-pressure is decided) in front of either per-device group commits
 * (./group-commit.ts, acks after the device commit) or, with the journal, journaled
 * group commits (./journal-commit.ts, acks after the journal's fdatasync) applied to the
 * devices afterwards (./apply-queue.ts, replayed at start by ./journal-replay.ts); plus
 * the shared read facade over the same pool. Stored results go to the sync sink when one
 * is given. See ./types.ts for the API.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getCodec } from '../../codec/index.js';
import type { ErrorCode } from '../../errors.js';
import type { Codec } from '../../codec/types.js';
import { devicesDir } from '../../devices/layout.js';
import { InUseLog } from '../../devices/pool/in-use-log.js';
import { createPool } from '../../devices/pool/pool.js';
import { QuarantineStore } from '../../devices/pool/quarantine.js';
import { verifySuspects } from '../../devices/pool/verify-suspects.js';
import { createDeviceReader, type DeviceReader, type UseDevice } from '../../devices/read-facade.js';
import { openRegistry, reconcileRegistry } from '../../devices/rebuild.js';
import { DeadLetterStore } from '../dead-letters.js';
import { ApplyWorker } from '../../devices/apply-worker/index.js';
import { Journal } from '../journal/index.js';
import { deadLettersDir, inUseFile, journalDir, quarantinedDir, registryDir } from '../layout.js';
import { createTopicParser } from '../topics.js';
import { Admission, combineGates, journalGate, type Gate } from './admission.js';
import { DeviceApplier } from './apply-queue.js';
import type { CommitContext } from './commit.js';
import { countResult, newCounters, type IngestCounters } from './counters.js';
import { GroupCommitter } from './group-commit.js';
import { JournalCommitter } from './journal-commit.js';
import { replayJournal } from './journal-replay.js';
import { APPLY_MAX_WAIT_MS, APPLY_MIN_GROUP, APPLY_PRESSURE, MAIN_APPLY_SLICE, PREPARE_TURN_MESSAGES, resolveIngestLimits, type IngestLimits } from './settings.js';
import { LmjError } from '../../errors.js';
import type { IngestHooks, IngestOptions, IngestResult, IngestStats, IngestSync, Ingestor, InboundMessage } from './types.js';

function safeHook<K extends keyof IngestHooks>(hooks: IngestHooks, name: K, ...args: Parameters<NonNullable<IngestHooks[K]>>): void {
  const fn = hooks[name] as ((...a: unknown[]) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn(...args);
  } catch {
    // Hooks are metrics and logs; a failing hook must never affect ingest.
  }
}

/** The gateway state the pipeline writes: dead letters, the device registry, the instance pool. */
function openIngestState(options: IngestOptions, codec: Codec, hooks: IngestHooks) {
  mkdirSync(devicesDir(options.dataDir), { recursive: true });
  const deadLetters = new DeadLetterStore(deadLettersDir(options.dataDir), options.deadLetters);
  // Fsynced in safe mode: a torn registry after a power cut kept the daemon from starting.
  const registry = openRegistry(registryDir(options.dataDir), options.durability !== 'fast');
  const inUse = new InUseLog(inUseFile(options.dataDir), options.durability !== 'fast');
  const pool = createPool({
    dataDir: options.dataDir,
    codec,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
    ...(options.pool?.maxOpen === undefined ? {} : { maxOpen: options.pool.maxOpen }),
    ...(options.pool?.fdHeadroom === undefined ? {} : { fdHeadroom: options.pool.fdHeadroom }),
    ...(options.pool?.mapSize === undefined ? {} : { mapSize: options.pool.mapSize }),
    inUse,
    quarantine: new QuarantineStore(quarantinedDir(options.dataDir)),
    hooks: {
      open: (id) => safeHook(hooks, 'poolOpen', id),
      evict: (id) => safeHook(hooks, 'poolEvict', id),
      quarantine: (id, reason) => safeHook(hooks, 'quarantined', id, reason),
    },
  });
  // Before anything can open them (journal replay, registry rebuild, the first message).
  const suspects = inUse.previous.suspects;
  if (suspects.length > 0) safeHook(hooks, 'verifying', suspects);
  const check = verifySuspects(pool, suspects, {
    onVerdict: (id, v) => safeHook(hooks, 'verified', id, v.status, v.status === 'ok' ? undefined : v.reason),
  });
  const checked = check.done.catch((err: unknown) => {
    const error = new LmjError('STORE_IO', `verifying the instances open at an unclean stop failed: ${(err as Error).message}`, { cause: err });
    safeHook(hooks, 'error', error, {});
  });
  return {
    deadLetters,
    registry,
    pool,
    async close(): Promise<void> {
      check.abort();
      await checked;
      await registry.close();
      await pool.close();
      await deadLetters.close();
    },
  };
}

/** The commit context over the pipeline's state, reporting to hooks and counters. */
function commitContext(
  state: Pick<CommitContext, 'codec' | 'topics' | 'pool' | 'deadLetters' | 'registry'>,
  limits: IngestLimits,
  options: IngestOptions,
  hooks: IngestHooks,
  counters: IngestCounters,
): CommitContext {
  return {
    ...state,
    maxPayloadBytes: limits.maxPayloadBytes,
    flattenLimits: options.flattenLimits ?? {},
    onError: (err, msg, deviceId) => safeHook(hooks, 'error', err, {
      topic: String(msg.topic).slice(0, 200),
      ...(deviceId === undefined ? {} : { deviceId }),
      ...(msg.clientId === undefined ? {} : { clientId: msg.clientId }),
    }),
    onDeadLettersDropped: (n) => {
      counters.deadLettersDropped += n;
      safeHook(hooks, 'deadLettersDropped', n);
    },
  };
}

/**
 * With the journal, a device's instance as seen by readers: every use first waits for what
 * was acked before it for that device to be applied. Without the journal, `use` itself.
 */
function afterApplied(use: UseDevice, applier: DeviceApplier | undefined): UseDevice {
  if (applier === undefined) return use;
  return async (deviceId, fn) => {
    const wait = applier.settled(deviceId);
    if (wait !== undefined) await wait;
    return use(deviceId, fn);
  };
}

/**
 * The read facade; with the journal, every read first waits for what was acked before it
 * (for that device, or all devices for the list) to be applied: reads see every acked
 * message, as without the journal, at the cost of the apply lag.
 */
function journaledReader(opts: Parameters<typeof createDeviceReader>[0], applier: DeviceApplier | undefined): DeviceReader {
  const reader = createDeviceReader({ ...opts, use: afterApplied(opts.use, applier) });
  if (applier === undefined) return reader;
  return {
    ...reader,
    listDevices: async (query) => {
      const wait = applier.settled();
      if (wait !== undefined) await wait;
      return reader.listDevices(query);
    },
  };
}

/** Ends the pipeline's own apply worker (after the applier drained); a caller's shared one stays. */
async function closeOwnWorker(ctx: CommitContext, limits: IngestLimits): Promise<void> {
  if (limits.applyWorker === true) await ctx.applyWorker?.worker.close();
}

/** The journaled path: journal opened, its unapplied records replayed and applied, the committer ready. */
interface JournalPath {
  journal: Journal;
  applier: DeviceApplier;
  committer: JournalCommitter;
  replayed: number;
}

async function openJournalPath(
  ctx: CommitContext,
  options: IngestOptions,
  limits: IngestLimits,
  hooks: IngestHooks,
  finish: (r: IngestResult, msg: InboundMessage) => void,
): Promise<JournalPath> {
  const report = (err: LmjError): void => safeHook(hooks, 'error', err, {});
  const journal = await Journal.open({
    dir: journalDir(options.dataDir),
    ...(options.journal?.maxBytes === undefined ? {} : { maxBytes: options.journal.maxBytes }),
    ...(options.journal?.segmentBytes === undefined ? {} : { segmentBytes: options.journal.segmentBytes }),
    maxPayloadBytes: limits.maxPayloadBytes,
    hooks: { corrupt: report, appendFailed: report, checkpointFailed: report, group: (t) => safeHook(hooks, 'journalGroup', t) },
  });
  if (limits.applyWorker !== false) {
    const target = {
      pool: ctx.pool,
      durability: options.durability ?? 'safe',
      ...(options.pool?.mapSize === undefined ? {} : { mapSize: options.pool.mapSize }),
      flattenLimits: ctx.flattenLimits,
    };
    const report = (info: { exitCode: number; inFlight: number }): void =>
      safeHook(hooks, 'error', new LmjError('APPLY_WORKER_LOST', `the device-apply worker ended (exit code ${info.exitCode}, ${info.inFlight} group(s) in flight); a new one is started`, { details: info }), {});
    ctx.applyWorker = { worker: limits.applyWorker === true ? new ApplyWorker({ onExit: report }) : limits.applyWorker, target };
  }
  const applier = new DeviceApplier(ctx, {
    journal,
    maxInFlight: limits.applyInFlight,
    // On the main thread a device commit's transaction callback is one synchronous slice: bounded.
    maxMessages: ctx.applyWorker === undefined ? Math.min(limits.maxMessages, MAIN_APPLY_SLICE) : limits.maxMessages,
    minGroup: APPLY_MIN_GROUP,
    maxWaitMs: APPLY_MAX_WAIT_MS,
    keepFlat: limits.applyKeepFlat,
    pressureAt: Math.ceil(limits.applyBacklog * APPLY_PRESSURE),
    onResult: finish,
    onLag: (ms) => safeHook(hooks, 'applyLag', ms),
    onCommit: (info) => safeHook(hooks, 'commit', info),
  });
  // Instances of devices with queued work are closed last: the applier needs them next.
  ctx.pool.preferKeeping((id) => applier.hasWork(id));
  try {
    const replayed = await replayJournal(ctx, journal, applier);
    applier.retryOnDiskFull();
    const committer = new JournalCommitter(ctx, journal, applier, {
      ...limits,
      turnMessages: PREPARE_TURN_MESSAGES,
      onStages: (st) => safeHook(hooks, 'ackStages', st),
    });
    return { journal, applier, committer, replayed };
  } catch (err) {
    await applier.idle();
    await closeOwnWorker(ctx, limits);
    await journal.close();
    throw err;
  }
}

/**
 * The journal path when configured; with the journal off, a journal left by an earlier run
 * is still replayed (its records were acked) and closed. Undefined = direct path.
 */
async function startJournal(
  ctx: CommitContext,
  options: IngestOptions,
  limits: IngestLimits,
  hooks: IngestHooks,
  finish: (r: IngestResult, msg: InboundMessage) => void,
): Promise<JournalPath | undefined> {
  if (options.journal !== undefined) return openJournalPath(ctx, options, limits, hooks, finish);
  if (existsSync(journalDir(options.dataDir))) {
    const left = await openJournalPath(ctx, options, limits, hooks, finish);
    await closeOwnWorker(ctx, limits);
    delete ctx.applyWorker;
    await left.journal.close();
  }
  return undefined;
}

/** A snapshot of the counters and gauges (with the journal's when on). */
function statsOf(counters: IngestCounters, admission: Admission, pool: IngestStats['pool'], journaled: JournalPath | undefined, worker: ApplyWorker | undefined): IngestStats {
  return {
    ...counters,
    rejectedByCode: { ...counters.rejectedByCode },
    pending: admission.pending,
    pendingBytes: admission.pendingBytes,
    pool,
    ...(journaled === undefined ? {} : { journal: { ...journaled.journal.stats(), applyBacklog: journaled.applier.backlog, applying: journaled.applier.applying, replayed: journaled.replayed, ...(worker === undefined ? {} : { worker: worker.stats() }) } }),
  };
}

/** The direct path: group commits into the devices, acks after each device commit. */
function directCommitter(ctx: CommitContext, limits: IngestLimits, hooks: IngestHooks, counters: IngestCounters): GroupCommitter {
  return new GroupCommitter(ctx, {
    ...limits,
    // No more device commits at once than instances can be open: a commit beyond that would
    // only wait in the pool with its group already cut, and evict an instance other devices'
    // queued work needs next. Not started, its device's messages keep joining one group.
    maxInflight: Math.min(limits.maxInflight, ctx.pool.stats().maxOpen),
    onGroup: (info) => {
      counters.commits++;
      safeHook(hooks, 'commit', info);
    },
  });
}

/** Admission with every downstream gate of this pipeline (sync outbox, journal budget and apply backlog). */
function admissionOf(limits: IngestLimits, sync: IngestSync | undefined, journaled: JournalPath | undefined, hooks: IngestHooks, counters: IngestCounters): Admission {
  const gates: Gate[] = [];
  if (sync !== undefined) gates.push(() => sync.admit());
  // The apply backlog is held in memory (flattened, then as payloads): bounded in messages.
  if (journaled !== undefined) gates.push(journalGate(journaled.journal, journaled.applier, limits.applyBacklog));
  const gate = combineGates(gates);
  return new Admission({
    maxMessages: limits.maxQueue,
    maxBytes: limits.maxQueueBytes,
    ...(gate === undefined ? {} : { gate }),
    onWait: () => {
      counters.backpressureWaits++;
      safeHook(hooks, 'backpressure');
    },
  });
}

/** Opens the gateway state under `options.dataDir` and starts the pipeline. */
export async function createIngestor(options: IngestOptions): Promise<Ingestor> {
  const hooks = options.hooks ?? {};
  const limits = resolveIngestLimits(options);
  const codec = options.codec ?? getCodec();
  const topics = createTopicParser(options.topics);

  const { deadLetters, registry, pool, close: shutdownState } = openIngestState(options, codec, hooks);
  const use: UseDevice = (deviceId, fn) => pool.use(deviceId, fn);
  let sync: IngestSync | undefined;
  try {
    sync = options.sync?.({ withDevice: use });
  } catch (err) {
    await shutdownState();
    throw err;
  }

  const counters = newCounters();
  function finish(r: IngestResult, msg: InboundMessage): void {
    countResult(counters, r);
    if (r.status === 'stored') sync?.onStored(r.deviceId, r.ts, r.readings);
    safeHook(hooks, 'result', r, msg);
  }
  const ctx = commitContext({ codec, topics, pool, deadLetters, registry }, limits, options, hooks, counters);
  let journaled: JournalPath | undefined;
  try {
    journaled = await startJournal(ctx, options, limits, hooks, finish);
  } catch (err) {
    await shutdownState();
    throw err;
  }
  const groups = journaled?.committer ?? directCommitter(ctx, limits, hooks, counters);
  const admission = admissionOf(limits, sync, journaled, hooks, counters);
  // Devices on disk that the registry lacks (e.g. after a crash): rebuild them in the background.
  const reconcile = reconcileRegistry(options.dataDir, pool, registry).catch(() => undefined);
  const unresolved = new Set<Promise<IngestResult>>();
  let closing = false;
  let closed: Promise<void> | undefined;

  function refuse(refusal: { code: ErrorCode; message: string }, msg: InboundMessage): IngestResult {
    const r: IngestResult = { status: 'rejected', ...refusal };
    finish(r, msg);
    return r;
  }

  async function submit(msg: InboundMessage): Promise<IngestResult> {
    if (closing) {
      const r: IngestResult = { status: 'rejected', code: 'SHUTTING_DOWN', message: 'the gateway is shutting down' };
      finish(r, msg);
      return r;
    }
    counters.submitted++;
    const refusal = options.refuse?.();
    if (refusal !== undefined) return refuse(refusal, msg);
    const bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : 0;
    // Oversized payloads never hold queue bytes: they are rejected without being kept in full.
    const held = Math.min(bytes, limits.maxPayloadBytes);
    const waiting = admission.enter(held);
    if (waiting !== undefined) {
      const t0 = performance.now();
      await waiting;
      safeHook(hooks, 'admissionWait', performance.now() - t0);
    }
    let settle!: (r: IngestResult) => void;
    const promise = new Promise<IngestResult>((resolve) => (settle = resolve));
    let done = false;
    groups.push({
      msg,
      // A caller-supplied time must be usable as an element timestamp; otherwise use now.
      receivedAt: Number.isSafeInteger(msg.receivedAt) && (msg.receivedAt as number) >= 0 ? (msg.receivedAt as number) : Date.now(),
      submittedAt: performance.now(),
      resolve: (r) => {
        if (done) return;
        done = true;
        finish(r, msg);
        unresolved.delete(promise);
        settle(r);
        admission.leave(held);
      },
    });
    unresolved.add(promise);
    return promise;
  }

  return {
    ...journaledReader({ registry, use, codec }, journaled?.applier),
    submit,
    topics,
    pool,
    async flush(): Promise<void> {
      const snapshot = [...unresolved];
      groups.cut();
      await Promise.all(snapshot);
      await journaled?.applier.idle();
    },
    async close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        groups.drain();
        while (unresolved.size > 0 || groups.queued > 0) {
          groups.cut();
          await Promise.all([...unresolved]);
        }
        if (journaled !== undefined) {
          // Drains the backlog into the devices, except what waits for disk space (replayed at the next start).
          journaled.applier.close();
          await journaled.applier.idle();
          await closeOwnWorker(ctx, limits);
          await journaled.journal.close();
        }
        await reconcile;
        await shutdownState();
      })();
      return closed;
    },
    // The query source and the dashboard read through here: behind the same barrier as the reads above.
    withDevice: afterApplied(use, journaled?.applier),
    deadLetters: async (query) => deadLetters.list(query),
    stats: (): IngestStats => statsOf(counters, admission, pool.stats(), journaled, ctx.applyWorker?.worker),
  };
}
