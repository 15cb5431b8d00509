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
import type { Logger } from '../../http/logger.js';
import type { Ingestor } from '../ingest/types.js';
import type { GatewayMetrics } from '../metrics.js';
import { InFlight } from './in-flight.js';
import { BrokerLink, type LinkContext } from './link.js';

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

/** Connects and subscribes; reconnects with backoff until {@link ExternalSubscriber.close}. */
export function startExternalSubscriber(opts: ExternalSubscriberOptions): ExternalSubscriber {
  const url = new URL(opts.url);
  let closing = false;
  const inFlight = new InFlight();
  const ctx: LinkContext = {
    url: opts.url,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 1883 : Number(url.port),
    username: opts.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username)),
    password: opts.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password)),
    keepalive: opts.keepaliveSec ?? 30,
    receiveMaximum: Math.max(1, Math.min(65535, opts.maxInFlight)),
    maxPacketBytes: opts.maxPacketBytes,
    filters: opts.filters,
    shared: opts.connections > 1,
    shareGroup: opts.shareGroup,
    ingestor: opts.ingestor,
    metrics: opts.metrics,
    log: opts.log,
    isClosing: () => closing,
    track: (p) => inFlight.track(p),
  };
  const links: BrokerLink[] = [];
  const readies: Promise<void>[] = [];

  for (let i = 0; i < opts.connections; i++) {
    const link = new BrokerLink(ctx, opts.connections === 1 ? opts.clientId : `${opts.clientId}-${i}`);
    links.push(link);
    readies.push(link.ready);
    link.start();
  }

  return {
    url: opts.url,
    ready: Promise.all(readies).then(() => undefined),
    inFlight: () => inFlight.count,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const l of links) l.pause();
      await inFlight.idle();
      await Promise.all(links.map((l) => l.stop()));
    },
  };
}
