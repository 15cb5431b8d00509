/**
 * One MQTT connection of the simulated fleet, serving one device (per-device mode) or
 * several (pool mode), behaving like real device firmware:
 * - at most `inflight` unacknowledged publications at a time; the rest wait in a bounded
 *   buffer (oldest dropped and counted when it overflows, e.g. while offline);
 * - when the connection drops, every unacknowledged reading goes back to the front of the
 *   buffer and is published again after reconnecting (the gateway dedupes the identical
 *   bytes); bad publications are not retried, so a broker that disconnects on them cannot
 *   trap the device in a loop;
 * - reconnects with exponential backoff and jitter, using a fresh mqtt.js client per
 *   attempt so unacknowledged state never leaks between connections.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { BadKind } from './bad-payloads.js';
import type { Rng } from './rng.js';

/** One publication, good (a reading) or bad (fault injection). */
export interface Outgoing {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  /** Set for good readings: what goes into the ledger once acknowledged. */
  reading?: { device: string; seq: number; boot: number };
  /** Set for bad publications. */
  bad?: BadKind;
  /** performance.now() of the last send. */
  sentAt: number;
  /** How many times it was handed to the client. */
  sends: number;
}

/** Callbacks from a link to the simulation. */
export interface LinkHooks {
  /** QoS 1: PUBACK received; QoS 0: written to the socket. */
  ack(msg: Outgoing, latencyMs: number): void;
  /** Dropped from a full buffer, or a bad publication lost with its connection. */
  drop(msg: Outgoing, reason: 'buffer-full' | 'connection-lost'): void;
  /** A client-level error (connection refused, publish failure). */
  error(err: Error): void;
  /** Connected; `reconnect` is false for the first successful connection. */
  connect(reconnect: boolean): void;
  /** The connection went away (or an attempt failed); a retry comes after `retryInMs`. */
  disconnect(retryInMs: number): void;
}

/** Options of a {@link Link}. */
export interface LinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** Most unacknowledged publications at once. */
  inflight: number;
  /** Most publications waiting to be sent (offline buffer). */
  bufferLimit: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
  keepaliveS: number;
  rng: Rng;
  hooks: LinkHooks;
  /** Pull-mode producer for unlimited rate: called when there is room and nothing waits. */
  source?: () => Outgoing | undefined;
}

/** Connection state of a link. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/** The backoff before attempt `attempt` (0-based): min·2^attempt capped at max, with 50–100 % jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, r: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + 0.5 * r));
}

/** A simulated device connection. */
export class Link {
  state: LinkState = 'idle';
  private client: MqttClient | undefined;
  /** Increments per client; callbacks of an older client are ignored. */
  private gen = 0;
  private queue: Outgoing[] = [];
  private head = 0;
  private readonly inflightSet = new Set<Outgoing>();
  private attempt = 0;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Times this link connected again after having been connected. */
  reconnects = 0;
  /** Readings re-published after a connection loss. */
  resent = 0;
  /** Set at the run's deadline: nothing more is sent; what is in flight may still be acked. */
  halted = false;

  constructor(private readonly opts: LinkOptions) {}

  /** Publications waiting in the buffer. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Publications sent and not yet acknowledged. */
  get inflight(): number {
    return this.inflightSet.size;
  }

  /** Nothing buffered and nothing in flight. */
  get idle(): boolean {
    return this.queued === 0 && this.inflightSet.size === 0;
  }

  /** Starts connecting. */
  start(): void {
    if (this.state === 'idle') this.connectNow();
  }

  /** Adds a publication to the buffer (dropping the oldest if full) and sends what fits. */
  enqueue(msg: Outgoing): void {
    if (this.state === 'closed') return;
    this.queue.push(msg);
    this.trim();
    this.pump();
  }

  /** The deadline passed: sends nothing more (buffered publications stay counted as queued). */
  halt(): void {
    this.halted = true;
  }

  /** Stops reconnecting and closes the client. Unsent publications stay counted as queued. */
  async close(force = false): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    this.gen++;
    if (c === undefined) return;
    if (force) return new Promise<void>((resolve) => void c.end(true, {}, () => resolve()));
    await new Promise<void>((resolve) => {
      // A graceful DISCONNECT; forced if the broker does not answer in time.
      const t = setTimeout(() => c.end(true, {}, () => resolve()), 2000);
      c.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Sends buffered (or pulled) publications while the in-flight window has room. */
  pump(): void {
    const c = this.client;
    if (this.state !== 'connected' || c === undefined) return;
    while (!this.halted && this.inflightSet.size < this.opts.inflight) {
      let msg: Outgoing | undefined;
      if (this.queued > 0) {
        msg = this.queue[this.head]!;
        this.head++;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
      } else {
        msg = this.opts.source?.();
      }
      if (msg === undefined) return;
      this.send(c, msg);
    }
  }

  private send(c: MqttClient, msg: Outgoing): void {
    const gen = this.gen;
    if (msg.sends > 0) this.resent++;
    msg.sends++;
    msg.sentAt = performance.now();
    this.inflightSet.add(msg);
    c.publish(msg.topic, msg.payload, { qos: msg.qos }, (err) => {
      if (gen !== this.gen || !this.inflightSet.has(msg)) return;
      this.inflightSet.delete(msg);
      if (err) {
        this.opts.hooks.error(err);
        // Probably the connection closing under us: keep the reading for the next one.
        if (msg.reading !== undefined && this.state !== 'closed') this.requeue([msg]);
        else this.opts.hooks.drop(msg, 'connection-lost');
      } else {
        this.opts.hooks.ack(msg, performance.now() - msg.sentAt);
      }
      this.pump();
    });
  }

  private requeue(msgs: Outgoing[]): void {
    this.queue = [...msgs, ...this.queue.slice(this.head)];
    this.head = 0;
    this.trim();
  }

  private trim(): void {
    while (this.queued > this.opts.bufferLimit) {
      const old = this.queue[this.head]!;
      this.head++;
      this.opts.hooks.drop(old, 'buffer-full');
    }
  }

  private connectNow(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const gen = ++this.gen;
    const o = this.opts;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      clean: true,
      protocolVersion: 4,
      // We drive reconnects ourselves (exponential backoff, fresh client per attempt).
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs,
      keepalive: o.keepaliveS,
      queueQoSZero: false,
      resubscribe: false,
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
    });
    this.client = client;
    client.on('connect', () => {
      if (gen !== this.gen) return;
      this.state = 'connected';
      this.attempt = 0;
      o.hooks.connect(this.everConnected);
      if (this.everConnected) this.reconnects++;
      this.everConnected = true;
      this.pump();
    });
    client.on('error', (err) => {
      if (gen === this.gen) o.hooks.error(err);
    });
    client.on('close', () => {
      if (gen !== this.gen || this.state === 'closed') return;
      this.lost(client);
    });
  }

  /** The current client's connection is gone: requeue unacknowledged readings, retry later. */
  private lost(client: MqttClient): void {
    this.gen++;
    this.client = undefined;
    client.removeAllListeners('connect');
    client.on('error', () => undefined);
    client.end(true);
    const unacked = [...this.inflightSet];
    this.inflightSet.clear();
    const retry = unacked.filter((m) => m.reading !== undefined);
    for (const m of unacked) if (m.reading === undefined) this.opts.hooks.drop(m, 'connection-lost');
    if (retry.length > 0) this.requeue(retry);
    const delay = backoffDelay(this.attempt++, this.opts.backoffMinMs, this.opts.backoffMaxMs, this.opts.rng.next());
    this.state = 'waiting';
    this.opts.hooks.disconnect(delay);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }
}
