/**
 * One connection of the external subscriber (./external.ts): a small MQTT 5 client
 * over `mqtt-packet` that hands every PUBLISH to ingest as soon as it is parsed and
 * writes the PUBACKs in arrival order as the commits complete (MQTT-4.6.0-2).
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Logger } from '../../http/logger.js';
import type { Ingestor, IngestResult } from '../ingest/types.js';
import type { GatewayMetrics } from '../metrics.js';
import { shouldAck } from './ack-policy.js';
import { ReadGate } from './read-gate.js';

const PROTOCOL = { protocolVersion: 5 } as const;
/** MQTT 5 Session Expiry Interval meaning "never expires". */
const SESSION_NEVER_EXPIRES = 0xffffffff;
/**
 * PUBLISHes taken from the broker per event-loop turn (then the socket waits for the next
 * turn): about one 64 KiB read of ~100-byte messages, ~5 ms of submits.
 */
const TURN_MESSAGES = 512;

/** What every link of one subscriber shares. */
export interface LinkContext {
  /** The broker URL as configured (for logs). */
  url: string;
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  keepalive: number;
  /**
   * MQTT 5 Receive Maximum: our in-flight window per connection. The broker honours it
   * for QoS 1 only; QoS 0 messages are bounded by pausing the socket at the same count.
   */
  receiveMaximum: number;
  maxPacketBytes: number;
  filters: readonly string[];
  /** Subscribe through `$share/<shareGroup>/…` (several links). */
  shared: boolean;
  shareGroup: string;
  ingestor: Pick<Ingestor, 'submit'>;
  metrics: GatewayMetrics;
  log: Logger;
  /** True once the subscriber is closing: no reconnects. */
  isClosing(): boolean;
  /** Counts a submit in flight until it settles. */
  track(p: Promise<IngestResult>): Promise<IngestResult>;
}

/** One MQTT 5 connection to the broker: connect, subscribe, hand PUBLISHes to ingest, PUBACK in order. */
export class BrokerLink {
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
  /**
   * Messages of this link in flight, of every QoS and across reconnects: a new
   * connection is not read while the previous one's messages still fill the window.
   */
  private readonly gate: ReadGate;

  constructor(
    private readonly ctx: LinkContext,
    private readonly clientId: string,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.gate = new ReadGate(ctx.receiveMaximum, () => ctx.metrics.readPaused('external'), TURN_MESSAGES);
  }

  /** Messages handed to ingest by this link and not yet settled. */
  get inFlight(): number {
    return this.gate.count;
  }

  /** Connects (again after a lost connection, with backoff, until {@link stop}). */
  start(): void {
    const gen = ++this.generation;
    const socket = connect({ host: this.ctx.host, port: this.ctx.port });
    this.socket = socket;
    this.gate.attach(socket);
    const parser = mqttPacket.parser(PROTOCOL);
    parser.on('packet', (p: Packet) => this.onPacket(p, gen));
    parser.on('error', (err: Error) => {
      this.ctx.log.warn({ err: err.message, broker: this.ctx.url }, 'bad packet from the broker; reconnecting');
      socket.destroy();
    });
    socket.setNoDelay(true);
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      this.ctx.metrics.connectionDelta('external', 1);
      this.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: this.clientId,
        clean: false,
        keepalive: this.ctx.keepalive,
        ...(this.ctx.username === undefined ? {} : { username: this.ctx.username }),
        ...(this.ctx.password === undefined ? {} : { password: Buffer.from(this.ctx.password, 'utf8') }),
        properties: {
          sessionExpiryInterval: SESSION_NEVER_EXPIRES,
          receiveMaximum: this.ctx.receiveMaximum,
          maximumPacketSize: this.ctx.maxPacketBytes,
        },
      });
    });
    socket.on('data', (buf: Buffer) => {
      parser.parse(buf);
      this.gate.chunkDone();
    });
    socket.on('error', (err) => this.ctx.log.debug({ err: err.message, broker: this.ctx.url }, 'broker connection error'));
    socket.on('close', () => {
      if (connected) this.ctx.metrics.connectionDelta('external', -1);
      clearInterval(this.pingTimer);
      if (gen === this.generation) this.generation++;
      if (!this.ctx.isClosing()) {
        this.ctx.log.warn({ broker: this.ctx.url, client: this.clientId, retryMs: this.backoffMs }, 'broker connection lost; reconnecting');
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
    // Any packet proves the broker alive; under a flood the PINGRESP queues behind PUBLISHes.
    this.awaitingPong = false;
    switch (p.cmd) {
      case 'connack': {
        const code = p.reasonCode ?? p.returnCode ?? 0;
        if (code !== 0) {
          this.ctx.log.error({ broker: this.ctx.url, code }, 'broker refused the connection');
          this.socket?.destroy();
          return;
        }
        this.backoffMs = 100;
        const shared = this.ctx.shared;
        this.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: this.ctx.filters.map((f) => ({ topic: shared ? `$share/${this.ctx.shareGroup}/${f}` : f, qos: 1 as const })),
        });
        this.awaitingPong = false;
        this.pingTimer = setInterval(() => {
          // Paused, we read nothing, PINGRESP included: not a sign of a dead broker.
          if (this.awaitingPong && !this.gate.isPaused) {
            this.ctx.log.warn({ broker: this.ctx.url }, 'broker keepalive timeout; reconnecting');
            this.socket?.destroy();
            return;
          }
          this.awaitingPong = true;
          this.send({ cmd: 'pingreq' });
        }, (this.ctx.keepalive * 1000) / 2);
        this.pingTimer.unref();
        return;
      }
      case 'suback': {
        const refused = (p.granted as Array<number | { qos?: number }>).filter(
          (g) => (typeof g === 'number' ? g : (g.qos ?? 0x80)) >= 0x80,
        );
        if (refused.length > 0) {
          this.ctx.log.error({ broker: this.ctx.url, granted: p.granted }, 'broker refused the subscription');
          return;
        }
        if (!this.subscribed) {
          this.subscribed = true;
          this.markReady();
        }
        return;
      }
      case 'publish':
        this.onPublish(p.topic, p.payload, p.qos, p.messageId, gen);
        return;
      case 'disconnect':
        this.ctx.log.warn({ broker: this.ctx.url, reason: p.reasonCode }, 'broker sent DISCONNECT');
        this.socket?.destroy();
        return;
      default:
        return;
    }
  }

  private onPublish(topic: string, raw: Buffer | string, qos: number, messageId: number | undefined, gen: number): void {
    const payload = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    this.ctx.metrics.messageIn('external', qos);
    this.gate.enter();
    const result = this.ctx.track(this.ctx.ingestor.submit({ topic, payload, qos: qos === 0 ? 0 : 1, clientId: this.clientId }));
    const leave = (): void => this.gate.leave();
    result.then(leave, leave);
    if (qos === 0) {
      result.catch((err: unknown) => this.ctx.log.error({ err }, 'ingest failed for a QoS 0 message'));
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
          if (!this.ctx.isClosing()) this.socket?.destroy();
          return;
        }
        this.send({ cmd: 'puback', messageId, reasonCode: 0 });
        this.ctx.metrics.ackSent('external');
      },
      (err: unknown) => {
        this.ctx.log.error({ err }, 'ingest failed; reconnecting so the broker redelivers');
        if (gen === this.generation) this.socket?.destroy();
      },
    );
  }

  /** Stops reading: messages not yet read stay unacked at the broker for the next session. */
  pause(): void {
    this.gate.stop();
  }

  /** Waits for this link's PUBACKs, then disconnects normally (the session is kept). */
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
