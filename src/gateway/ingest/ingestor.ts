/**
 * The Ingestor: a bounded queue in front of per-device group commits. `submit` waits
 * for capacity when the queue is full (back-pressure, counted). Submitted messages are
 * prepared (validated, flattened in one codec call) at most `batch.maxDelayMs` after
 * they arrive, into a forming group per device. Each device has at most one commit in
 * flight; what arrives meanwhile forms its next group, so groups grow with commit
 * latency (up to `batch.maxMessages` per device commit) and stay small when idle.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getCodec } from '../../codec/index.js';
import { deviceSummary, findByIdentity, latest, readings } from '../../core/telemetry/query.js';
import { entityView } from '../../core/telemetry/entity-view.js';
import type { LmjStore } from '../../core/types.js';
import { LmjError, isLmjError, type ErrorCode } from '../../errors.js';
import { DeadLetterStore } from '../dead-letters.js';
import { isValidDeviceId } from '../device-id.js';
import { createPool } from '../pool/pool.js';
import type { DevicePool } from '../pool/types.js';
import { createTopicParser } from '../topics.js';
import { commitDeviceWork, prepareBatch, rejectAll, type CommitContext, type Pending, type Prepared, type Work } from './commit.js';
import { DeviceRegistry } from './registry.js';
import type { IngestHooks, IngestOptions, IngestResult, IngestStats, Ingestor, InboundMessage } from './types.js';

function safeHook<K extends keyof IngestHooks>(hooks: IngestHooks, name: K, ...args: Parameters<NonNullable<IngestHooks[K]>>): void {
  const fn = hooks[name] as ((...a: unknown[]) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn(...args);
  } catch {
    // Hooks are metrics and logs; a failing hook must never affect ingest.
  }
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isFinite(n) || n <= 0) throw new LmjError('BAD_CONFIG', `${name} must be a positive number`, { details: { key: name, value: v } });
  return n;
}

/** Opens the registry, recreating it when it is unreadable (it is derived data). */
function openRegistry(dir: string, durable: boolean): DeviceRegistry {
  try {
    return new DeviceRegistry(dir, durable);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return new DeviceRegistry(dir, durable);
  }
}

/** Rebuilds registry entries by opening the given devices (all on disk when omitted). */
export async function rebuildRegistryEntries(dataDir: string, pool: DevicePool, registry: DeviceRegistry, ids?: Iterable<string>): Promise<number> {
  let list: string[];
  if (ids === undefined) {
    try {
      list = readdirSync(join(dataDir, 'devices')).filter((id) => isValidDeviceId(id));
    } catch {
      list = [];
    }
  } else list = [...ids];
  let rebuilt = 0;
  for (const id of list) {
    try {
      const s = await pool.use(id, (store) => store.read((txn) => deviceSummary(txn)));
      if (s === null) continue;
      registry.update([{ id, firstSeen: s.firstSeen, lastSeen: s.lastSeen, readings: s.readings }]);
      rebuilt++;
    } catch {
      // An unreadable device stays out of the list; its messages report DEVICE_UNAVAILABLE.
    }
  }
  await registry.settle();
  return rebuilt;
}

/** Opens the gateway state under `options.dataDir` and starts the pipeline. */
export async function createIngestor(options: IngestOptions): Promise<Ingestor> {
  const hooks = options.hooks ?? {};
  const maxMessages = Math.floor(positive('batch.maxMessages', options.batch?.maxMessages, 4096));
  const maxDelayMs = positive('batch.maxDelayMs', options.batch?.maxDelayMs, 2);
  const maxInflight = Math.floor(positive('batch.maxInflight', options.batch?.maxInflight, 1024));
  const maxQueue = Math.floor(positive('queue.maxMessages', options.queue?.maxMessages, 20_000));
  const maxQueueBytes = positive('queue.maxBytes', options.queue?.maxBytes, 64 * 1024 * 1024);
  const maxPayloadBytes = positive('maxPayloadBytes', options.maxPayloadBytes, 64 * 1024);
  const codec = options.codec ?? getCodec();
  const topics = createTopicParser(options.topics);

  mkdirSync(join(options.dataDir, 'devices'), { recursive: true });
  const deadLetters = new DeadLetterStore(join(options.dataDir, 'gateway', 'deadletters'), options.deadLetters);
  const registry = openRegistry(join(options.dataDir, 'gateway', 'registry'), options.durability !== 'fast');
  const pool = createPool({
    dataDir: options.dataDir,
    codec,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
    ...(options.pool?.maxOpen === undefined ? {} : { maxOpen: options.pool.maxOpen }),
    ...(options.pool?.fdHeadroom === undefined ? {} : { fdHeadroom: options.pool.fdHeadroom }),
    ...(options.pool?.mapSize === undefined ? {} : { mapSize: options.pool.mapSize }),
    hooks: { open: (id) => safeHook(hooks, 'poolOpen', id), evict: (id) => safeHook(hooks, 'poolEvict', id) },
  });

  const stats = {
    submitted: 0, stored: 0, duplicates: 0, meta: 0, rejected: 0, commits: 0, backpressureWaits: 0, deadLettersDropped: 0,
    rejectedByCode: {} as Partial<Record<ErrorCode, number>>,
  };
  let pendingCount = 0;
  let pendingBytes = 0;
  /** Submitted, not yet prepared (validated + flattened). */
  let queue: Pending[] = [];
  /** Prepared work per device, waiting for that device's commit slot (insertion = arrival order). */
  const forming = new Map<string, Work[]>();
  /** Devices with a commit in flight: at most one each, so a device's next group forms meanwhile. */
  const busy = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let restartQueued = false;
  let closing = false;
  let closed: Promise<void> | undefined;
  const unresolved = new Set<Promise<IngestResult>>();
  let capacityWaiters: (() => void)[] = [];

  const ctx: CommitContext = {
    codec, topics, pool, deadLetters, registry, maxPayloadBytes,
    flattenLimits: options.flattenLimits ?? {},
    onError: (err, msg, deviceId) => safeHook(hooks, 'error', err, {
      topic: String(msg.topic).slice(0, 200),
      ...(deviceId === undefined ? {} : { deviceId }),
      ...(msg.clientId === undefined ? {} : { clientId: msg.clientId }),
    }),
    onDeadLettersDropped: (n) => {
      stats.deadLettersDropped += n;
      safeHook(hooks, 'deadLettersDropped', n);
    },
  };

  // Devices on disk that the registry lacks (e.g. after a crash): rebuild them in the background.
  const reconcile = (async () => {
    const known = registry.ids();
    let onDisk: string[] = [];
    try {
      onDisk = readdirSync(join(options.dataDir, 'devices'));
    } catch {
      onDisk = [];
    }
    const missing = onDisk.filter((id) => isValidDeviceId(id) && !known.has(id));
    if (missing.length > 0) await rebuildRegistryEntries(options.dataDir, pool, registry, missing);
  })().catch(() => undefined);

  function count(result: IngestResult): void {
    if (result.status === 'stored') stats.stored++;
    else if (result.status === 'duplicate') stats.duplicates++;
    else if (result.status === 'meta') stats.meta++;
    else {
      stats.rejected++;
      stats.rejectedByCode[result.code] = (stats.rejectedByCode[result.code] ?? 0) + 1;
    }
  }

  function failAll(items: readonly { resolve(r: IngestResult): void }[], err: unknown): void {
    // Unexpected (e.g. the codec threw for the whole batch): reject what is left.
    const error = isLmjError(err) ? err : new LmjError('DEVICE_UNAVAILABLE', `commit failed: ${String(err)}`, { cause: err });
    for (const p of items) p.resolve({ status: 'rejected', code: error.code, message: error.message });
  }

  /** Prepares everything queued (one codec call per `maxMessages`) into the devices' forming groups. */
  function cut(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    while (queue.length > 0) {
      const batch = queue.length <= maxMessages ? queue : queue.slice(0, maxMessages);
      queue = batch === queue ? [] : queue.slice(maxMessages);
      let prepared: Prepared;
      try {
        prepared = prepareBatch(ctx, batch);
      } catch (err) {
        failAll(batch, err);
        continue;
      }
      if (prepared.early.length > 0) void rejectAll(ctx, prepared.early);
      for (const [id, work] of prepared.byDevice) {
        const f = forming.get(id);
        if (f === undefined) forming.set(id, work);
        else for (const w of work) f.push(w);
      }
    }
    startReady();
  }

  /**
   * Starts a commit for every device that has forming work and no commit in flight.
   * Devices started together form one reported group (their stores' commits run in the
   * same event-loop turn). A slow device never holds back the others: each restarts on
   * its own completion with whatever arrived meanwhile (adaptive group size).
   */
  function startReady(): void {
    const started: Promise<void>[] = [];
    let messages = 0;
    let first = Infinity;
    for (const [id, work] of forming) {
      if (busy.has(id)) continue;
      if (busy.size >= maxInflight) break;
      const take = work.length <= maxMessages ? work : work.splice(0, maxMessages);
      if (take === work) forming.delete(id);
      busy.add(id);
      messages += take.length;
      for (const w of take) if (w.pending.submittedAt < first) first = w.pending.submittedAt;
      started.push(
        commitDeviceWork(ctx, id, take)
          .catch((err: unknown) => failAll(take.map((w) => w.pending), err))
          .finally(() => {
            busy.delete(id);
            restartSoon();
          }),
      );
    }
    if (started.length === 0) return;
    const devices = started.length;
    void Promise.all(started).then(() => {
      stats.commits++;
      safeHook(hooks, 'commit', { devices, messages, latencyMs: performance.now() - first });
    });
  }

  /** After a device commit: start waiting devices once per turn, so they commit together. */
  function restartSoon(): void {
    if (restartQueued || forming.size === 0) return;
    restartQueued = true;
    setImmediate(() => {
      restartQueued = false;
      startReady();
    });
  }

  function schedule(): void {
    if (queue.length === 0) return;
    if (queue.length >= maxMessages || closing) {
      cut();
      return;
    }
    timer ??= setTimeout(cut, maxDelayMs);
  }

  function wakeCapacity(): void {
    const waiters = capacityWaiters;
    capacityWaiters = [];
    for (const w of waiters) w();
  }

  async function submit(msg: InboundMessage): Promise<IngestResult> {
    if (closing) {
      const r: IngestResult = { status: 'rejected', code: 'SHUTTING_DOWN', message: 'the gateway is shutting down' };
      count(r);
      safeHook(hooks, 'result', r, msg);
      return r;
    }
    stats.submitted++;
    const bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : 0;
    // Oversized payloads never hold queue bytes: they are rejected without being kept in full.
    const held = Math.min(bytes, maxPayloadBytes);
    let waited = false;
    while (pendingCount >= maxQueue || (pendingCount > 0 && pendingBytes + held > maxQueueBytes)) {
      if (!waited) {
        waited = true;
        stats.backpressureWaits++;
        safeHook(hooks, 'backpressure');
      }
      await new Promise<void>((resolve) => capacityWaiters.push(resolve));
    }
    pendingCount++;
    pendingBytes += held;
    let settle!: (r: IngestResult) => void;
    const promise = new Promise<IngestResult>((resolve) => (settle = resolve));
    let done = false;
    queue.push({
      msg,
      // A caller-supplied time must be usable as an element timestamp; otherwise use now.
      receivedAt: Number.isSafeInteger(msg.receivedAt) && (msg.receivedAt as number) >= 0 ? (msg.receivedAt as number) : Date.now(),
      submittedAt: performance.now(),
      resolve: (r) => {
        if (done) return;
        done = true;
        pendingCount--;
        pendingBytes -= held;
        count(r);
        safeHook(hooks, 'result', r, msg);
        unresolved.delete(promise);
        settle(r);
        wakeCapacity();
      },
    });
    unresolved.add(promise);
    schedule();
    return promise;
  }

  async function flush(): Promise<void> {
    const snapshot = [...unresolved];
    cut();
    await Promise.all(snapshot);
  }

  async function use<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>): Promise<T> {
    return pool.use(deviceId, fn);
  }

  function orNotFound<T>(deviceId: string, v: T | null): T {
    if (v === null) throw new LmjError('NOT_FOUND', `unknown device ${deviceId}`, { details: { deviceId } });
    return v;
  }

  const ingestor: Ingestor = {
    submit,
    flush,
    topics,
    async close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        while (unresolved.size > 0 || queue.length > 0) {
          cut();
          await Promise.all([...unresolved]);
        }
        await reconcile;
        await registry.close();
        await pool.close();
        await deadLetters.close();
      })();
      return closed;
    },
    async listDevices(query) {
      // Registry updates are queued per commit group; include everything already resolved.
      await registry.settle();
      return registry.list(query);
    },
    deviceSummary: async (id) => orNotFound(id, await use(id, (s) => s.read((txn) => deviceSummary(txn)))),
    latest: async (id) => orNotFound(id, await use(id, (s) => s.read((txn) => latest(txn)))),
    readings: async (id, query) => use(id, (s) => s.read((txn) => readings(txn, query))),
    async entity(id, ptrHex) {
      const ptr = codec.parsePointer(ptrHex);
      return use(id, (s) => s.read((txn) => entityView(txn, ptr)));
    },
    async findByIdentity(id, identity) {
      let bytes: Buffer;
      if (typeof identity === 'string') {
        if (!/^[0-9a-fA-F]{32}$/.test(identity)) throw new LmjError('BAD_REQUEST', 'identity must be 32 hex characters');
        bytes = Buffer.from(identity, 'hex');
      } else bytes = Buffer.from(identity);
      return use(id, (s) => s.read((txn) => findByIdentity(txn, bytes)));
    },
    withDevice: use,
    deadLetters: async (query) => deadLetters.list(query),
    stats: (): IngestStats => ({ ...stats, rejectedByCode: { ...stats.rejectedByCode }, pending: pendingCount, pendingBytes, pool: pool.stats() }),
  };
  return ingestor;
}
