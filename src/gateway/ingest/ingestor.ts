/**
 * The Ingestor: admission (./admission.ts: the downstream gate and a bounded queue,
 * the one place back-pressure is decided) in front of per-device group commits
 * (./group-commit.ts), plus the shared read facade over the same pool. Stored results
 * go to the sync sink when one is given. See ./types.ts for the API.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getCodec } from '../../codec/index.js';
import type { Codec } from '../../codec/types.js';
import { devicesDir } from '../../devices/layout.js';
import { createPool } from '../../devices/pool/pool.js';
import { createDeviceReader, type UseDevice } from '../../devices/read-facade.js';
import { openRegistry, reconcileRegistry } from '../../devices/rebuild.js';
import { DeadLetterStore } from '../dead-letters.js';
import { createTopicParser } from '../topics.js';
import { Admission } from './admission.js';
import type { CommitContext } from './commit.js';
import { countResult, newCounters, type IngestCounters } from './counters.js';
import { GroupCommitter } from './group-commit.js';
import { resolveIngestLimits, type IngestLimits } from './settings.js';
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
  const deadLetters = new DeadLetterStore(join(options.dataDir, 'gateway', 'deadletters'), options.deadLetters);
  const registry = openRegistry(join(options.dataDir, 'gateway', 'registry'));
  const pool = createPool({
    dataDir: options.dataDir,
    codec,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
    ...(options.pool?.maxOpen === undefined ? {} : { maxOpen: options.pool.maxOpen }),
    ...(options.pool?.fdHeadroom === undefined ? {} : { fdHeadroom: options.pool.fdHeadroom }),
    ...(options.pool?.mapSize === undefined ? {} : { mapSize: options.pool.mapSize }),
    hooks: { open: (id) => safeHook(hooks, 'poolOpen', id), evict: (id) => safeHook(hooks, 'poolEvict', id) },
  });
  return {
    deadLetters,
    registry,
    pool,
    async close(): Promise<void> {
      await registry.close();
      await pool.close();
      await deadLetters.close();
    },
  };
}

/** The group-commit scheduler over the pipeline's state, reporting to hooks and counters. */
function startGroupCommits(
  state: Pick<CommitContext, 'codec' | 'topics' | 'pool' | 'deadLetters' | 'registry'>,
  limits: IngestLimits,
  options: IngestOptions,
  hooks: IngestHooks,
  counters: IngestCounters,
): GroupCommitter {
  const ctx: CommitContext = {
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
  return new GroupCommitter(ctx, {
    ...limits,
    onGroup: (info) => {
      counters.commits++;
      safeHook(hooks, 'commit', info);
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
  const admission = new Admission({
    maxMessages: limits.maxQueue,
    maxBytes: limits.maxQueueBytes,
    ...(sync === undefined ? {} : { gate: () => (sync as IngestSync).admit() }),
    onWait: () => {
      counters.backpressureWaits++;
      safeHook(hooks, 'backpressure');
    },
  });
  const groups = startGroupCommits({ codec, topics, pool, deadLetters, registry }, limits, options, hooks, counters);
  // Devices on disk that the registry lacks (e.g. after a crash): rebuild them in the background.
  const reconcile = reconcileRegistry(options.dataDir, pool, registry).catch(() => undefined);
  const unresolved = new Set<Promise<IngestResult>>();
  let closing = false;
  let closed: Promise<void> | undefined;

  function finish(r: IngestResult, msg: InboundMessage): void {
    countResult(counters, r);
    if (r.status === 'stored') sync?.onStored(r.deviceId, r.ts);
    safeHook(hooks, 'result', r, msg);
  }

  async function submit(msg: InboundMessage): Promise<IngestResult> {
    if (closing) {
      const r: IngestResult = { status: 'rejected', code: 'SHUTTING_DOWN', message: 'the gateway is shutting down' };
      finish(r, msg);
      return r;
    }
    counters.submitted++;
    const bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : 0;
    // Oversized payloads never hold queue bytes: they are rejected without being kept in full.
    const held = Math.min(bytes, limits.maxPayloadBytes);
    const waiting = admission.enter(held);
    if (waiting !== undefined) await waiting;
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
    ...createDeviceReader({ registry, use, codec }),
    submit,
    topics,
    pool,
    async flush(): Promise<void> {
      const snapshot = [...unresolved];
      groups.cut();
      await Promise.all(snapshot);
    },
    async close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        groups.drain();
        while (unresolved.size > 0 || groups.queued > 0) {
          groups.cut();
          await Promise.all([...unresolved]);
        }
        await reconcile;
        await shutdownState();
      })();
      return closed;
    },
    withDevice: use,
    deadLetters: async (query) => deadLetters.list(query),
    stats: (): IngestStats => ({ ...counters, rejectedByCode: { ...counters.rejectedByCode }, pending: admission.pending, pendingBytes: admission.pendingBytes, pool: pool.stats() }),
  };
}
