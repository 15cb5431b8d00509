/**
 * External broker mode: the gateway subscribes to an existing broker (mosquitto)
 * and acknowledges each QoS 1 message only after its durable commit.
 *
 * MQTT.js handles one incoming message at a time until its ack callback (about
 * 1 / commit latency messages per second), so this is a small MQTT 5 client over
 * `mqtt-packet` instead: it hands every PUBLISH to ingest as soon as it is parsed,
 * so hundreds are in flight within one group commit, and writes the PUBACKs in
 * arrival order as the commits complete (MQTT-4.6.0-2). The in-flight window is
 * advertised to the broker as the MQTT 5 Receive Maximum, so the broker, not our
 * memory, holds anything beyond it.
 *
 * Session: fixed client id, Clean Start = 0 and a session that never expires, so
 * messages published while the gateway is down or restarting are queued by the
 * broker and delivered afterwards; unacked ones are redelivered after a reconnect
 * and the ingest dedupe stores them once. The broker must be configured not to drop
 * queued messages (docs/daemon.md, docs/mosquitto.conf.example).
 *
 * With `connections > 1` the links share `$share/<group>/<filter>` subscriptions.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Ingestor, IngestResult } from '../ingest/types.js';
import type { Logger } from '../../http/logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { shouldAck } from './ack-policy.js';

/** Options of {@link startExternalSubscriber}. */
export interface ExternalSubscriberOptions {
  /** `mqtt://host:port` (username/password may be given in the URL or separately). */
  url: string;
  clientId: string;
  connections: number;
  shareGroup: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Topic filters to subscribe to (from the topic templates). */
  filters: readonly string[];
  ingestor: Pick<Ingestor, 'submit'>;
  metrics: GatewayMetrics;
  log: Logger;
  /** In-flight window per connection (MQTT 5 Receive Maximum, ≤ 65535). */
  maxInFlight: number;
  /** Largest packet we accept (MQTT 5 Maximum Packet Size; the broker will not send bigger ones). */
  maxPacketBytes: number;
  /** Keepalive in seconds (default 30). */
  keepaliveSec?: number;
}

/** A running subscriber. */
export interface ExternalSubscriber {
  readonly url: string;
  /** Resolves once every connection has its subscription granted (first time). */
  readonly ready: Promise<void>;
  inFlight(): number;
  /** Stops reading, waits for in-flight commits and their PUBACKs, disconnects (session kept). */
  close(): Promise<void>;
}

const PROTOCOL = { protocolVersion: 5 } as const;
/** MQTT 5 Session Expiry Interval meaning "never expires". */
const SESSION_NEVER_EXPIRES = 0xffffffff;

/** Connects and subscribes; reconnects with backoff until {@link ExternalSubscriber.close}. */
export function startExternalSubscriber(opts: ExternalSubscriberOptions): ExternalSubscriber {
  const url = new URL(opts.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 1883 : Number(url.port);
  const username = opts.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = opts.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  const keepalive = opts.keepaliveSec ?? 30;
  const receiveMaximum = Math.max(1, Math.min(65535, opts.maxInFlight));
  let closing = false;
  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];

  const track = (p: Promise<IngestResult>): Promise<IngestResult> => {
    inFlight++;
    const settle = (): void => {
      inFlight--;
      if (inFlight === 0) {
        const w = idleWaiters;
        idleWaiters = [];
        for (const fn of w) fn();
      }
    };
    p.then(settle, settle);
    return p;
  };

  const links: Link[] = [];
  const readies: Promise<void>[] = [];

  class Link {
    private socket: Socket | undefined;
    private generation = 0;
    private tail: Promise<void> = Promise.resolve();
    private backoffMs = 100;
    private pingTimer: NodeJS.Timeout | undefined;
    private reconnectTimer: NodeJS.Timeout | undefined;
    private awaitingPong = false;
    private subscribed = false;
    readonly ready: Promise<void>;
    private markReady!: () => void;

    constructor(private readonly clientId: string) {
      this.ready = new Promise((resolve) => (this.markReady = resolve));
    }

    start(): void {
      const gen = ++this.generation;
      const socket = connect({ host, port });
      this.socket = socket;
      const parser = mqttPacket.parser(PROTOCOL);
      parser.on('packet', (p: Packet) => this.onPacket(p, gen));
      parser.on('error', (err: Error) => {
        opts.log.warn({ err: err.message, broker: opts.url }, 'bad packet from the broker; reconnecting');
        socket.destroy();
      });
      socket.setNoDelay(true);
      let connected = false;
      socket.on('connect', () => {
        connected = true;
        opts.metrics.connectionDelta('external', 1);
        this.send({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clientId: this.clientId,
          clean: false,
          keepalive,
          ...(username === undefined ? {} : { username }),
          ...(password === undefined ? {} : { password: Buffer.from(password, 'utf8') }),
          properties: {
            sessionExpiryInterval: SESSION_NEVER_EXPIRES,
            receiveMaximum,
            maximumPacketSize: opts.maxPacketBytes,
          },
        });
      });
      socket.on('data', (buf: Buffer) => parser.parse(buf));
      socket.on('error', (err) => opts.log.debug({ err: err.message, broker: opts.url }, 'broker connection error'));
      socket.on('close', () => {
        if (connected) opts.metrics.connectionDelta('external', -1);
        clearInterval(this.pingTimer);
        if (gen === this.generation) this.generation++;
        if (!closing) {
          opts.log.warn({ broker: opts.url, client: this.clientId, retryMs: this.backoffMs }, 'broker connection lost; reconnecting');
          this.reconnectTimer = setTimeout(() => this.start(), this.backoffMs);
          this.backoffMs = Math.min(this.backoffMs * 2, 5000);
        }
      });
    }

    private send(packet: Packet): void {
      if (this.socket !== undefined && !this.socket.destroyed) mqttPacket.writeToStream(packet, this.socket, PROTOCOL);
    }

    private onPacket(p: Packet, gen: number): void {
      if (gen !== this.generation) return;
      switch (p.cmd) {
        case 'connack': {
          const code = p.reasonCode ?? p.returnCode ?? 0;
          if (code !== 0) {
            opts.log.error({ broker: opts.url, code }, 'broker refused the connection');
            this.socket?.destroy();
            return;
          }
          this.backoffMs = 100;
          const shared = opts.connections > 1;
          this.send({
            cmd: 'subscribe',
            messageId: 1,
            subscriptions: opts.filters.map((f) => ({ topic: shared ? `$share/${opts.shareGroup}/${f}` : f, qos: 1 as const })),
          });
          this.awaitingPong = false;
          this.pingTimer = setInterval(() => {
            if (this.awaitingPong) {
              opts.log.warn({ broker: opts.url }, 'broker keepalive timeout; reconnecting');
              this.socket?.destroy();
              return;
            }
            this.awaitingPong = true;
            this.send({ cmd: 'pingreq' });
          }, (keepalive * 1000) / 2);
          this.pingTimer.unref();
          return;
        }
        case 'suback': {
          const refused = (p.granted as Array<number | { qos?: number }>).filter(
            (g) => (typeof g === 'number' ? g : (g.qos ?? 0x80)) >= 0x80,
          );
          if (refused.length > 0) {
            opts.log.error({ broker: opts.url, granted: p.granted }, 'broker refused the subscription');
            return;
          }
          if (!this.subscribed) {
            this.subscribed = true;
            this.markReady();
          }
          return;
        }
        case 'pingresp':
          this.awaitingPong = false;
          return;
        case 'publish':
          this.onPublish(p.topic, p.payload, p.qos, p.messageId, gen);
          return;
        case 'disconnect':
          opts.log.warn({ broker: opts.url, reason: p.reasonCode }, 'broker sent DISCONNECT');
          this.socket?.destroy();
          return;
        default:
          return;
      }
    }

    private onPublish(topic: string, raw: Buffer | string, qos: number, messageId: number | undefined, gen: number): void {
      const payload = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      opts.metrics.messageIn('external', qos);
      const result = track(opts.ingestor.submit({ topic, payload, qos: qos === 0 ? 0 : 1, clientId: this.clientId }));
      if (qos === 0) {
        result.catch((err: unknown) => opts.log.error({ err }, 'ingest failed for a QoS 0 message'));
        return;
      }
      this.tail = Promise.all([result, this.tail]).then(
        ([res]) => {
          // A PUBACK belongs to the connection that received the PUBLISH; after a
          // reconnect the broker redelivers it and the ingest dedupe stores it once.
          if (gen !== this.generation) return;
          if (!shouldAck(res)) {
            // Our failure, not the message's: reconnect so the broker redelivers it
            // (unless we are closing, when the next session gets it).
            if (!closing) this.socket?.destroy();
            return;
          }
          this.send({ cmd: 'puback', messageId, reasonCode: 0 });
          opts.metrics.ackSent('external');
        },
        (err: unknown) => {
          opts.log.error({ err }, 'ingest failed; reconnecting so the broker redelivers');
          if (gen === this.generation) this.socket?.destroy();
        },
      );
    }

    /** Stops reading: messages not yet read stay unacked at the broker for the next session. */
    pause(): void {
      this.socket?.pause();
    }

    async stop(): Promise<void> {
      clearTimeout(this.reconnectTimer);
      clearInterval(this.pingTimer);
      await this.tail;
      const socket = this.socket;
      if (socket === undefined || socket.destroyed) return;
      // Normal disconnection (reason 0) keeps the session, as its expiry says.
      this.send({ cmd: 'disconnect', reasonCode: 0 });
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      });
    }
  }

  for (let i = 0; i < opts.connections; i++) {
    const link = new Link(opts.connections === 1 ? opts.clientId : `${opts.clientId}-${i}`);
    links.push(link);
    readies.push(link.ready);
    link.start();
  }

  return {
    url: opts.url,
    ready: Promise.all(readies).then(() => undefined),
    inFlight: () => inFlight,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const l of links) l.pause();
      if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      await Promise.all(links.map((l) => l.stop()));
    },
  };
}
