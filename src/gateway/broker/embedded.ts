/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) as an ingest endpoint.
 *
 * How acknowledgement works (read from aedes 1.2.0 lib/handlers/publish.js and
 * lib/client.js): for QoS 1, aedes writes PUBACK only after `authorizePublish`
 * calls back, so we call back once `ingestor.submit()` has resolved, i.e. after
 * the durable group commit. aedes dispatches every packet of one socket read
 * concurrently and reads the next chunk only when all of them called back, so a
 * pipelining publisher has a whole chunk in flight, all grouped into one commit:
 * per-client throughput is (messages per chunk) / (commit latency), not
 * 1 / latency. Callbacks of one client are chained so PUBACKs leave in the order
 * the PUBLISHes arrived (MQTT-4.6.0-2), even when devices commit out of order.
 * QoS 2 is treated like QoS 1 (PUBREC after commit).
 *
 * Bounds (aedes itself keeps unbounded queues for slow subscribers):
 * - SUBSCRIBE is refused (granted 0x80): this broker ingests, it does not fan out;
 *   so no subscriber queue can grow. Read data over HTTP, or run mosquitto and the
 *   external mode for fan-out.
 * - retained flags are cleared, so aedes never stores retained messages in memory;
 * - connections are capped (`maxConnections`, refused at accept);
 * - a packet larger than `maxPacketBytes` closes its connection before it is buffered;
 * - at most `maxQueuedBeforeConnack` packets pipelined behind a CONNECT are held until
 *   the CONNACK; more close the connection, counted (`connect_queue_full`) and logged;
 * - a client's next socket read waits until every message of its last read has its
 *   result (QoS 0 too), so each connection has at most one read in flight (TCP
 *   back-pressure); at most `maxInFlight` messages are between arrival and commit
 *   overall: QoS 0 beyond that is shed (counted), QoS 1 waits.
 *
 * With a users file, each client publishes only for its own devices (./acl.ts): a publish
 * to another device's topic is handed to ingest already refused (ACL_DENIED), so it is
 * dead-lettered durably and acked like any bad message, the session stays open, nothing
 * reaches the other device's store, and it is counted (`lmj_mqtt_acl_denied_total`).
 *
 * With `tls`, a second listener speaks MQTT over TLS (./tls-server.ts) into the same
 * aedes instance; a verified client certificate naming a device binds its connection to
 * that device: the same ACL then allows only that device's topics.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { LmjError } from '../../errors.js';
import type { InboundMessage, Ingestor, IngestResult } from '../ingest/types.js';
import type { Logger } from '../../http/logger.js';
import { createTopicParser, isReservedTopic, type TopicParser } from '../topics.js';
import type { GatewayMetrics } from '../metrics.js';
import { shouldAck } from './ack-policy.js';
import { ConnectQueueGuard, DEFAULT_QUEUED_BEFORE_CONNACK } from './connect-queue.js';
import type { UserTable } from './users.js';
import { decidePublish, type MqttIdentity } from './acl.js';
import { certificateIdentity } from './publish-acl.js';
import { listenMqttTls, type MqttTlsListener, type MqttTlsOptions } from './tls-server.js';

/** Options of {@link startEmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  ingestor: Pick<Ingestor, 'submit'>;
  metrics: GatewayMetrics;
  log: Logger;
  /** Required credentials; undefined = anonymous (only allowed on loopback by config). */
  users?: UserTable | undefined;
  /** The topic templates, to find the device a publish is for (the ACL, with `users`; default templates when absent). */
  topics?: TopicParser;
  maxConnections: number;
  maxPacketBytes: number;
  maxInFlight: number;
  /** Packets a client may pipeline after CONNECT before its CONNACK (aedes `queueLimit`). */
  /** Default {@link DEFAULT_QUEUED_BEFORE_CONNACK}. */
  maxQueuedBeforeConnack?: number;
  /** MQTT over TLS on a second listener, when set. */
  tls?: MqttTlsOptions | undefined;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** The MQTT-over-TLS port, when `tls` was given. */
  readonly tlsPort: number | undefined;
  /** Messages handed to ingest and not yet resolved. */
  inFlight(): number;
  /**
   * Stops accepting connections and publications (new ones are refused without an
   * ack, so clients redeliver later), waits for in-flight messages to commit and
   * their acks to be written, then closes every client.
   */
  close(): Promise<void>;
}

const noop = (): void => {};

/** What aedes forwards instead of a rejected `$…` topic: no handler and no subscriber matches it. */
const INERT_TOPIC = 'lmj-edge/rejected-reserved-topic';

/** Starts aedes on a TCP listener bound to `host:port` (port 0 picks a free port). */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { metrics, log, ingestor } = opts;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const tails = new WeakMap<Client, Promise<void>>();
  // Set at authentication when a users file is given; absent = anonymous (no ACL).
  const identities = new WeakMap<Client, MqttIdentity>();
  // A verified client certificate naming a device, read once per client (it does not
  // change during a connection); null = the certificate binds no device.
  const certIdentities = new WeakMap<Client, MqttIdentity | null>();
  const topics = opts.topics ?? createTopicParser();

  /** The identity the ACL judges: the certificate's device when it names one, else the users-file login. */
  const identityOf = (client: Client): { identity: MqttIdentity; byCert: boolean } | undefined => {
    let cert = certIdentities.get(client);
    if (cert === undefined) certIdentities.set(client, (cert = certificateIdentity(client) ?? null));
    if (cert !== null) return { identity: cert, byCert: true };
    const login = identities.get(client);
    return login === undefined ? undefined : { identity: login, byCert: false };
  };

  /** The ACL's refusal of this publish, counted, or undefined when allowed. */
  const aclRefusal = (client: Client, topic: string): InboundMessage['refused'] => {
    const who = identityOf(client);
    if (who === undefined) return undefined;
    const decision = decidePublish(who.identity, topic, topics);
    if (decision.allowed) return undefined;
    metrics.aclDenied(who.byCert ? 'cert_cn' : decision.reason);
    return { code: 'ACL_DENIED', message: `client ${JSON.stringify(client.id)}: ${decision.message}` };
  };

  const track = (p: Promise<IngestResult>): Promise<IngestResult> => {
    inFlight++;
    const settle = (): void => {
      inFlight--;
      if (inFlight === 0 && idle !== undefined) idle();
    };
    p.then(settle, settle);
    return p;
  };


  const authorizePublish = (client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void => {
    // client is null only for a stale will of a client gone before a restart: nothing to ingest.
    if (client === null) {
      cb(new Error('no client'));
      return;
    }
    const topic = packet.topic;
    // aedes would keep retained messages in memory forever; this broker keeps nothing.
    packet.retain = false;
    // A $SYS/… message is a bad topic (ingest rejects and dead-letters it, the client
    // gets its ack), but once authorized aedes forwards it to its own $SYS handlers
    // (broker heartbeats, "close this client id"): forward it under an inert topic.
    if (isReservedTopic(topic)) packet.topic = INERT_TOPIC;
    metrics.messageIn('embedded', packet.qos);
    if (draining) {
      cb(new LmjError('SHUTTING_DOWN'));
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const refused = aclRefusal(client, topic);
    const extra = refused === undefined ? {} : { refused };
    if (packet.qos === 0) {
      if (inFlight >= opts.maxInFlight) {
        metrics.shedOne('overloaded');
        cb(null);
        return;
      }
      // Called back once the message has its result, as QoS 1 is: aedes reads this client's
      // next chunk only then, so a QoS 0 flood waits in TCP buffers (one socket read per
      // client in flight) instead of being parsed as fast as it arrives and shed.
      track(ingestor.submit({ topic, payload, qos: 0, clientId: client.id, ...extra })).then(
        () => cb(null),
        (err: unknown) => {
          log.error({ err, client: client.id }, 'ingest failed for a QoS 0 message');
          cb(null);
        },
      );
      return;
    }
    const result = track(ingestor.submit({ topic, payload, qos: 1, clientId: client.id, ...extra }));
    const prev = tails.get(client) ?? Promise.resolve();
    const tail = Promise.all([result, prev]).then(
      ([res]) => {
        if (!shouldAck(res)) {
          // Not stored for a reason of ours: no ack, the connection closes, the client redelivers.
          cb(new LmjError(res.status === 'rejected' ? res.code : 'STORE_IO'));
          return;
        }
        metrics.ackSent('embedded');
        cb(null);
      },
      (err: unknown) => {
        log.error({ err, client: client.id }, 'ingest failed; closing the connection without an ack');
        cb(err instanceof Error ? err : new Error(String(err)));
      },
    );
    tails.set(client, tail);
  };

  const authenticate = (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: AuthenticateError | null, ok: boolean | null) => void,
  ): void => {
    const users = opts.users;
    if (users === undefined) {
      done(null, true);
      return;
    }
    users.authenticate(username, password).then(
      (identity) => {
        if (identity !== undefined) {
          identities.set(client, identity);
          return done(null, true);
        }
        metrics.shedOne('auth_failed');
        log.warn({ user: username }, 'mqtt authentication failed');
        const err = Object.assign(new Error('bad username or password'), { returnCode: 4 }) as AuthenticateError;
        done(err, null);
      },
      () => done(Object.assign(new Error('auth error'), { returnCode: 3 }) as AuthenticateError, null),
    );
  };

  const connectQueue = new ConnectQueueGuard(opts.maxQueuedBeforeConnack ?? DEFAULT_QUEUED_BEFORE_CONNACK, (refusal) => {
    metrics.shedOne('connect_queue_full', refusal.dropped);
    log.warn(
      { client: refusal.clientId, limit: refusal.limit, dropped: refusal.dropped },
      'mqtt client pipelined too many packets before CONNACK; connection closed',
    );
  });

  const aedes = await Aedes.createBroker({
    preConnect: connectQueue.preConnect,
    queueLimit: connectQueue.limit,
    authenticate,
    authorizePublish,
    authorizeSubscribe: (_client, _sub, cb) => {
      metrics.shedOne('subscribe_refused');
      cb(null, null);
    },
    // Device ids go in client ids often; allow more than MQTT 3.1's 23.
    maxClientsIdLength: 128,
    connectTimeout: 10_000,
    drainTimeout: 10_000,
    heartbeatInterval: 60_000,
  });
  aedes.on('clientError', (client: Client, err: Error) => {
    if (connectQueue.observe(client, err)) return;
    if (!(err instanceof LmjError)) log.debug({ client: client.id, err: err.message }, 'mqtt client error');
  });
  aedes.on('connectionError', (client: Client, err: Error) => {
    if (!connectQueue.observe(client, err)) log.debug({ err: err.message }, 'mqtt connection error');
  });

  const sockets = new Set<Socket>();
  const accept = (socket: Socket): void => {
    sockets.add(socket);
    metrics.connectionDelta('embedded', 1);
    socket.once('close', () => {
      sockets.delete(socket);
      metrics.connectionDelta('embedded', -1);
    });
    socket.on('error', noop);
    if (draining) {
      socket.destroy();
      return;
    }
    guardPacketSize(aedes.handle(socket), socket, opts.maxPacketBytes, () => metrics.shedOne('packet_too_large'));
  };
  const server: Server = createServer(accept);
  server.maxConnections = opts.maxConnections;
  server.on('drop', () => metrics.shedOne('max_connections'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  let tlsListener: MqttTlsListener | undefined;
  if (opts.tls !== undefined) {
    const bounds = { maxConnections: opts.maxConnections, onDrop: () => metrics.shedOne('max_connections'), log };
    try {
      tlsListener = await listenMqttTls(opts.tls, bounds, accept);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw err;
    }
  }

  return {
    host: opts.host,
    port,
    tlsPort: tlsListener?.port,
    inFlight: () => inFlight,
    async close(): Promise<void> {
      if (draining) return;
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const tlsClosed = tlsListener?.close();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      // Let the PUBACK writes queued by the last callbacks reach the sockets.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await tlsClosed;
    },
  };
}

/**
 * aedes buffers a whole packet before parsing it, whatever its announced length
 * (up to 256 MiB). The parser keeps unparsed bytes in `_list`; checking its size
 * after each chunk bounds memory per connection to `max` plus one chunk.
 */
function guardPacketSize(client: Client, socket: Socket, max: number, onDrop: () => void): void {
  const parser = (client as unknown as { _parser?: { parse(buf: Buffer): number; _list?: { length: number } } })._parser;
  if (parser === undefined || typeof parser.parse !== 'function') return;
  const parse = parser.parse.bind(parser);
  parser.parse = (buf: Buffer): number => {
    const rest = parse(buf);
    if ((parser._list?.length ?? 0) > max) {
      onDrop();
      socket.destroy();
    }
    return rest;
  };
}
