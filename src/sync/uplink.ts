/**
 * The uplink worker: takes readings after each dirty device's cursor (round-robin),
 * sends them as one CBOR batch over a keep-alive HTTP connection (undici) to the
 * router's sync endpoint, and advances cursors only for devices the router answers
 * are committed on their data node. Failures are retried with exponential backoff
 * and jitter. Up to `concurrency` batches are in flight, over disjoint devices, so a
 * device's readings never overtake each other.
 */
import { Pool } from 'undici';
import { LmjError, isLmjError } from '../errors.js';
import { tlsFailure } from '../http/tls-failure.js';
import { encodeBatch, parseAnswer, type BatchAnswer } from './batch.js';
import type { DeviceExport, Outbox } from './outbox.js';
import type { SyncCounters, SyncErrorInfo, SyncLog, SyncOptions } from './types.js';

/** Path of the router's sync endpoint under the upstream URL. */
export const SYNC_PATH = '/sync/v1/batch';
const MIN_BATCH_BYTES = 16 * 1024;

/** Settings with defaults applied. */
export type UplinkSettings = Required<Omit<SyncOptions, 'token' | 'upstreamCa'>> & { token: string | undefined; upstreamCa: Buffer | undefined };

/** One router the uplink can send to. */
interface Upstream {
  url: string;
  path: string;
  pool: Pool;
}

/** The uplink worker of one gateway. */
export class Uplink {
  /** The routers of `--upstream` (comma-separated), in order; `current` is the one in use. */
  private readonly upstreams: Upstream[];
  private current = 0;
  private seq = Date.now();
  private lastServed: string | undefined;
  private maxBytes: number;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Resolves on stop(): every wait of the loop races it, so stop never waits on a wake-up that already happened. */
  private readonly stopping: Promise<void>;
  private signalStop!: () => void;
  private readonly aborts = new Set<AbortController>();
  /** Devices in a batch in flight: never in two at once, so their readings stay in order. */
  private readonly busy = new Set<string>();
  lastSuccessAt: number | null = null;
  lastError: SyncErrorInfo | null = null;
  readonly counters: Omit<SyncCounters, 'readingsDropped' | 'backpressureWaits'> = {
    batchesSent: 0,
    batchFailures: 0,
    readingsSynced: 0,
    readingsDuplicate: 0,
    tlsFailures: 0,
  };

  constructor(
    private readonly outbox: Outbox,
    private readonly settings: UplinkSettings,
    private readonly log: SyncLog,
  ) {
    this.upstreams = settings.upstream.split(',').map((raw) => {
      const url = new URL(raw);
      return {
        url: raw,
        path: `${url.pathname.replace(/\/+$/, '')}${SYNC_PATH}`,
        pool: new Pool(url.origin, {
          connections: settings.concurrency,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          ...(settings.upstreamCa === undefined ? {} : { connect: { ca: settings.upstreamCa } }),
        }),
      };
    });
    this.maxBytes = settings.batchMaxBytes;
    this.stopping = new Promise((resolve) => {
      this.signalStop = resolve;
    });
  }

  /** `p`, or stop() — whichever comes first. */
  private untilStop(p: Promise<unknown>): Promise<unknown> {
    return Promise.race([p, this.stopping]);
  }

  /** Starts the worker loop. */
  start(): void {
    this.loop ??= this.run().catch((err: unknown) => this.log.warn({ err }, 'uplink loop ended with an error'));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private noteError(err: unknown): void {
    const code = isLmjError(err) ? err.code : 'UPSTREAM_FAILED';
    const message = err instanceof Error ? err.message : String(err);
    if (this.lastError?.message !== message) this.log.warn({ code, message }, 'uplink: batch not confirmed, will retry');
    this.lastError = { at: Date.now(), code, message };
  }

  private async run(): Promise<void> {
    await this.outbox.ready();
    let attempt = 0;
    const inflight = new Set<Promise<void>>();
    while (!this.stopped) {
      if (inflight.size >= this.settings.concurrency) {
        await this.untilStop(Promise.race(inflight));
        continue;
      }
      if (attempt > 0) await this.sleep(this.backoff(attempt));
      // stop() may have run during the sleep, after it released the dirty waiters: a new
      // waitDirty would then never resolve (this hung close() for good).
      if (inflight.size === 0 && !this.stopped) await this.untilStop(this.outbox.waitDirty());
      if (this.stopped) break;
      if (this.outbox.dirtyOrder(undefined).length === 0) continue;
      // Time bound: a partial batch waits a little for more readings.
      if (inflight.size === 0 && this.outbox.backlog().readings < this.settings.batchMaxRecords) await this.sleep(this.settings.batchDelayMs);
      if (this.stopped) break;
      const exports = await this.collect();
      if (exports.length === 0) {
        if (inflight.size > 0) await this.untilStop(Promise.race(inflight));
        // Dirty devices that could not be read (e.g. an instance being repaired): try later.
        else if (this.outbox.dirtyOrder(undefined).length > 0) await this.sleep(this.backoff(++attempt));
        continue;
      }
      for (const e of exports) this.busy.add(e.deviceId);
      const p: Promise<void> = this.send(exports)
        .then(
          (outcome) => {
            // Some devices committed: the router works, only some parts failed (e.g. one data
            // node down) — retry those soon instead of backing off ever longer.
            attempt = outcome === 'ok' ? 0 : outcome === 'partial' ? 1 : attempt + 1;
          },
          (err: unknown) => {
            // E.g. the cursor store failed: retry the batch later rather than end the loop.
            this.noteError(err);
            attempt++;
          },
        )
        .finally(() => {
          // After confirm (inside send): only now may drop-oldest touch these devices again.
          this.outbox.settle(exports);
          for (const e of exports) this.busy.delete(e.deviceId);
          inflight.delete(p);
        });
      inflight.add(p);
    }
    await Promise.all(inflight);
  }

  /** Exponential backoff with equal jitter. */
  private backoff(attempt: number): number {
    const d = Math.min(this.settings.maxBackoffMs, this.settings.backoffMs * 2 ** Math.min(attempt, 20));
    return d / 2 + Math.random() * (d / 2);
  }

  private async collect(): Promise<DeviceExport[]> {
    const out: DeviceExport[] = [];
    let records = 0;
    let bytes = 0;
    for (const id of this.outbox.dirtyOrder(this.lastServed)) {
      if (this.stopped || records >= this.settings.batchMaxRecords || bytes >= this.maxBytes) break;
      if (this.busy.has(id)) continue;
      this.lastServed = id;
      try {
        const exp = await this.outbox.exportFor(id, this.settings.batchMaxRecords - records, this.maxBytes - bytes);
        if (exp === undefined) continue;
        out.push(exp);
        records += exp.records.length;
        bytes += exp.bytes;
      } catch (err) {
        if (!isLmjError(err, 'NOT_FOUND')) this.noteError(err);
      }
    }
    return out;
  }

  /** Sends one batch: `ok` when every device in it was confirmed, `partial` when some were. */
  private async send(exports: DeviceExport[]): Promise<'ok' | 'partial' | 'failed'> {
    const seq = this.seq++;
    const body = encodeBatch({ gatewayId: this.settings.gatewayId, seq, devices: exports.map((e) => ({ deviceId: e.deviceId, records: e.records })) });
    let answer: BatchAnswer;
    try {
      answer = await this.post(body);
    } catch (err) {
      this.counters.batchFailures++;
      this.noteError(err);
      if (isLmjError(err, 'BATCH_TOO_LARGE')) this.maxBytes = Math.max(MIN_BATCH_BYTES, Math.floor(this.maxBytes / 2));
      return 'failed';
    }
    const done: { exp: DeviceExport; element: Buffer }[] = [];
    let failed: { code: string; message: string } | undefined;
    for (const exp of exports) {
      const a = answer.devices.find((x) => x.id === exp.deviceId);
      if (a === undefined || !('cursor' in a)) {
        failed = a === undefined ? { code: 'UPSTREAM_FAILED', message: `no answer for ${exp.deviceId}` } : a.error;
        continue;
      }
      const element = Buffer.from(a.cursor, 'hex');
      // Only a cursor we sent can be committed: anything else is a confused router.
      if (!exp.records.some((r) => r.element.equals(element))) {
        failed = { code: 'UPSTREAM_FAILED', message: `router confirmed an element we did not send for ${exp.deviceId}` };
        continue;
      }
      this.counters.readingsDuplicate += a.duplicates;
      done.push({ exp, element });
    }
    const { synced } = await this.outbox.confirm(done);
    this.counters.batchesSent++;
    this.counters.readingsSynced += synced;
    if (done.length > 0) this.lastSuccessAt = Date.now();
    if (failed !== undefined) {
      this.counters.batchFailures++;
      this.noteError(new LmjError('UPSTREAM_FAILED', `router could not commit every device: ${failed.code}: ${failed.message}`));
      return done.length > 0 ? 'partial' : 'failed';
    }
    return 'ok';
  }

  private async post(body: Buffer): Promise<BatchAnswer> {
    const headers: Record<string, string> = {
      'content-type': 'application/cbor',
      'x-lmj-gateway': this.settings.gatewayId,
    };
    if (this.settings.token !== undefined) headers.authorization = `Bearer ${this.settings.token}`;
    const abort = new AbortController();
    this.aborts.add(abort);
    let status: number;
    let text: string;
    const up = this.upstreams[this.current % this.upstreams.length] as Upstream;
    try {
      const res = await up.pool.request({
        path: up.path,
        method: 'POST',
        headers,
        body,
        signal: abort.signal,
        headersTimeout: this.settings.requestTimeoutMs,
        bodyTimeout: this.settings.requestTimeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (cause) {
      this.failOver(up);
      const tls = tlsFailure(cause);
      if (tls !== undefined) {
        this.counters.tlsFailures++;
        throw new LmjError('UPSTREAM_TLS', `TLS handshake with ${up.url} failed: ${tls}: ${(cause as Error).message} (check --upstream-ca)`, {
          cause,
          details: { upstream: up.url, reason: tls },
        });
      }
      throw new LmjError('UPSTREAM_FAILED', `cannot reach ${up.url}: ${(cause as Error).message}`, { cause });
    } finally {
      this.aborts.delete(abort);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    if (status !== 200) {
      // A router that cannot work right now (draining, no etcd, a gateway or proxy error): try the next one.
      if (status === 502 || status === 503 || status === 504) this.failOver(up);
      const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
      const code = status === 413 ? 'BATCH_TOO_LARGE' : status === 401 ? 'UNAUTHORIZED' : 'UPSTREAM_FAILED';
      throw new LmjError(code, `router answered ${status}: ${e?.code ?? ''} ${e?.message ?? text.slice(0, 200)}`.trim(), {
        details: { status, code: e?.code },
      });
    }
    return parseAnswer(json);
  }

  /** Moves on to the next router after `failed` did not answer (once per failure, even with batches in flight). */
  private failOver(failed: Upstream): void {
    if (this.upstreams.length < 2 || this.upstreams[this.current % this.upstreams.length] !== failed) return;
    this.current = (this.current + 1) % this.upstreams.length;
    this.log.warn({ from: failed.url, to: this.upstreams[this.current]?.url }, 'uplink: failing over to the next router');
  }

  /** The router in use now. */
  currentUpstream(): string {
    return (this.upstreams[this.current % this.upstreams.length] as Upstream).url;
  }

  /** Stops the loop (an in-flight request is aborted: its batch is resent next run). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.wake?.();
    this.outbox.releaseDirtyWaiters();
    for (const a of this.aborts) a.abort();
    await this.loop;
    await Promise.all(this.upstreams.map((u) => u.pool.close().catch(() => undefined)));
  }
}
