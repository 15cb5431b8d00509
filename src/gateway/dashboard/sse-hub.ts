/**
 * Server-Sent Events for the dashboard, with back-pressure: a slow browser never
 * holds more than a fixed amount of the daemon's memory.
 *
 * Rules, per client:
 * - Events are queued under a key (`seen:<id>`, `latest:<id>`, `overview`); a newer
 *   event with the same key replaces the queued one (coalescing: a client that is
 *   behind gets the newest values, not the history).
 * - The queue is bounded in bytes (`maxQueuedBytes`). An event that does not fit is
 *   dropped and counted (and a queued older event of the same key goes with it).
 * - The queue is written to the socket only while the socket is not waiting for
 *   `drain`, so Node's own socket buffer holds at most one queue's worth on top of
 *   its high-water mark.
 * - A client that reaches `maxDrops` dropped events, or whose socket has not drained
 *   for `maxStallMs`, is disconnected and counted; the browser's EventSource
 *   reconnects by itself and starts from fresh values.
 */
import type { ServerResponse } from 'node:http';

/** Limits of the hub; every field has a default. */
export interface SseLimits {
  /** Queued bytes per client (default 256 KiB). */
  maxQueuedBytes: number;
  /** Dropped events after which a client is disconnected (default 200). */
  maxDrops: number;
  /** Longest time a client's socket may stay undrained (default 30 s). */
  maxStallMs: number;
  /** Most clients at once (default 64). */
  maxClients: number;
}

/** Defaults of {@link SseLimits}. */
export const DEFAULT_SSE_LIMITS: SseLimits = { maxQueuedBytes: 256 * 1024, maxDrops: 200, maxStallMs: 30_000, maxClients: 64 };

/** Disconnected clients kept in {@link SseStats.recentDisconnects}. */
const RECENT_DISCONNECTS = 16;

/** Why a client was disconnected by the hub. */
export type DisconnectReason = 'drops' | 'stalled' | 'shutdown';

/** One client's state as reported by {@link SseHub.stats}. */
export interface SseClientStats {
  id: number;
  watch: string[];
  queuedBytes: number;
  /** Bytes in Node's socket buffer (not yet handed to the kernel). */
  socketBytes: number;
  /** Highest queuedBytes + socketBytes seen. */
  peakBufferedBytes: number;
  /** Bytes of events offered to this client (queued, coalesced or dropped). */
  offeredBytes: number;
  sentBytes: number;
  coalesced: number;
  dropped: number;
  waitingDrain: boolean;
}

/** Hub totals since start. */
export interface SseStats {
  clients: SseClientStats[];
  connected: number;
  dropped: number;
  coalesced: number;
  disconnected: Record<DisconnectReason, number>;
  /** The last clients the hub disconnected, newest last, with their final state. */
  recentDisconnects: (SseClientStats & { reason: DisconnectReason; at: number })[];
}

/** Counters the hub reports to (Prometheus in the daemon). */
export interface SseCounters {
  dropped(n: number): void;
  disconnected(reason: DisconnectReason): void;
}

/** Formats one SSE event. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

class SseClient {
  private readonly pending = new Map<string, string>();
  queuedBytes = 0;
  peakBufferedBytes = 0;
  offeredBytes = 0;
  sentBytes = 0;
  coalesced = 0;
  dropped = 0;
  waitingDrain = false;
  stalledSince = 0;
  private flushQueued = false;

  constructor(
    readonly id: number,
    readonly raw: ServerResponse,
    readonly watch: ReadonlySet<string>,
    private readonly hub: SseHub,
  ) {}

  /** Queues `text` under `key`, coalescing with a queued event of the same key. */
  enqueue(key: string, text: string): void {
    const size = Buffer.byteLength(text);
    this.offeredBytes += size;
    const prev = this.pending.get(key);
    const prevSize = prev === undefined ? 0 : Buffer.byteLength(prev);
    if (this.queuedBytes - prevSize + size > this.hub.limits.maxQueuedBytes) {
      if (prev !== undefined) {
        // The queued value is older than the one dropped: sending it later would be stale.
        this.pending.delete(key);
        this.queuedBytes -= prevSize;
      }
      this.dropped++;
      this.hub.onDrop(this);
      return;
    }
    if (prev !== undefined) this.coalesced++;
    this.pending.set(key, text);
    this.queuedBytes += size - prevSize;
    this.notePeak();
    if (!this.waitingDrain && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }

  /** Writes the whole queue as one chunk unless the socket is still draining. */
  flush(): void {
    if (this.waitingDrain || this.pending.size === 0 || this.raw.destroyed) return;
    const chunk = [...this.pending.values()].join('');
    this.pending.clear();
    this.queuedBytes = 0;
    this.sentBytes += Buffer.byteLength(chunk);
    const ok = this.raw.write(chunk);
    this.notePeak();
    if (!ok) {
      this.waitingDrain = true;
      this.stalledSince = Date.now();
      this.raw.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    }
  }

  private notePeak(): void {
    const buffered = this.queuedBytes + this.raw.writableLength;
    if (buffered > this.peakBufferedBytes) this.peakBufferedBytes = buffered;
  }

  stats(): SseClientStats {
    return {
      id: this.id,
      watch: [...this.watch],
      queuedBytes: this.queuedBytes,
      socketBytes: this.raw.writableLength,
      peakBufferedBytes: this.peakBufferedBytes,
      offeredBytes: this.offeredBytes,
      sentBytes: this.sentBytes,
      coalesced: this.coalesced,
      dropped: this.dropped,
      waitingDrain: this.waitingDrain,
    };
  }
}

/** All SSE clients of one daemon. */
export class SseHub {
  readonly limits: SseLimits;
  private readonly clients = new Map<number, SseClient>();
  private nextId = 1;
  private dropped = 0;
  private coalescedGone = 0;
  private readonly disconnected: Record<DisconnectReason, number> = { drops: 0, stalled: 0, shutdown: 0 };
  private readonly recent: SseStats['recentDisconnects'] = [];
  private readonly stallTimer: NodeJS.Timeout;

  constructor(
    limits: Partial<SseLimits> = {},
    private readonly counters?: SseCounters,
  ) {
    this.limits = { ...DEFAULT_SSE_LIMITS, ...limits };
    this.stallTimer = setInterval(() => this.checkStalls(), Math.min(1000, this.limits.maxStallMs)).unref();
  }

  /** True when another client may connect. */
  hasRoom(): boolean {
    return this.clients.size < this.limits.maxClients;
  }

  /** Starts streaming to `raw` (headers are written here); `watch`: devices whose latest values it wants. */
  add(raw: ServerResponse, watch: ReadonlySet<string>, hello: unknown): void {
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Reverse proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    const client = new SseClient(this.nextId++, raw, watch, this);
    this.clients.set(client.id, client);
    raw.write(`retry: 2000\n\n${sseEvent('hello', hello)}`);
    raw.on('close', () => this.remove(client));
  }

  /** Queues an event for every client (`onlyWatching`: only those watching that device). */
  publish(key: string, event: string, data: unknown, onlyWatching?: string): void {
    if (this.clients.size === 0) return;
    let text: string | undefined;
    for (const c of this.clients.values()) {
      if (onlyWatching !== undefined && !c.watch.has(onlyWatching)) continue;
      text ??= sseEvent(event, data);
      c.enqueue(key, text);
    }
  }

  /** Devices some client watches. */
  watched(): Set<string> {
    const out = new Set<string>();
    for (const c of this.clients.values()) for (const id of c.watch) out.add(id);
    return out;
  }

  /** Called by a client that dropped an event. */
  onDrop(client: SseClient): void {
    this.dropped++;
    this.counters?.dropped(1);
    if (client.dropped >= this.limits.maxDrops) this.disconnect(client, 'drops');
  }

  stats(): SseStats {
    let coalesced = this.coalescedGone;
    for (const c of this.clients.values()) coalesced += c.coalesced;
    return {
      clients: [...this.clients.values()].map((c) => c.stats()),
      connected: this.clients.size,
      dropped: this.dropped,
      coalesced,
      disconnected: { ...this.disconnected },
      recentDisconnects: [...this.recent],
    };
  }

  /** Ends every stream (daemon shutdown). */
  close(): void {
    clearInterval(this.stallTimer);
    for (const c of [...this.clients.values()]) this.disconnect(c, 'shutdown');
  }

  private checkStalls(): void {
    const now = Date.now();
    for (const c of [...this.clients.values()]) {
      if (c.waitingDrain && now - c.stalledSince > this.limits.maxStallMs) this.disconnect(c, 'stalled');
    }
  }

  private disconnect(client: SseClient, reason: DisconnectReason): void {
    if (!this.clients.has(client.id)) return;
    this.remove(client);
    this.disconnected[reason]++;
    this.recent.push({ ...client.stats(), reason, at: Date.now() });
    if (this.recent.length > RECENT_DISCONNECTS) this.recent.shift();
    this.counters?.disconnected(reason);
    // destroy(), not end(): end() would queue behind the unsent bytes the client is not reading.
    client.raw.destroy();
  }

  private remove(client: SseClient): void {
    if (!this.clients.delete(client.id)) return;
    this.coalescedGone += client.coalesced;
  }
}
