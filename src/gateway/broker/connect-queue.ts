/**
 * The bound on packets a client pipelines between its CONNECT and our CONNACK.
 *
 * MQTT lets a client send PUBLISHes right behind its CONNECT, before the CONNACK
 * arrives. aedes 1.2.0 (lib/client.js `enqueue`) parses them and holds them in a
 * per-connection queue until the session is established, then handles them in
 * order; while connecting it reads no further from the socket, so the queue holds
 * the packets of the reads done before CONNACK. When the queue already holds
 * `queueLimit` packets, the next one makes aedes emit `Client queue limit reached`
 * and close the connection: no CONNACK, no PUBACK, the queued packets dropped.
 * With aedes' default of 42 that silently lost any firmware burst of 43 messages.
 *
 * This module sizes that bound from the configuration and makes its overflow
 * visible: the dropped packets are counted and one line names the client. The
 * client got no ack for any of them, so a QoS 1 client redelivers after reconnecting.
 */
import type { Client, ConnectPacket } from 'aedes';

/** aedes' error message for the overflow (lib/client.js). */
const QUEUE_FULL_MESSAGE = 'Client queue limit reached';

/** One refused connection. */

/** Packets a client may pipeline behind its CONNECT (measured: 10 clients × 5,000 QoS 0 publishes pass at 4096, all reset at 1000). */
export const DEFAULT_QUEUED_BEFORE_CONNACK = 4096;

export interface ConnectQueueRefusal {
  /** The client id from the CONNECT packet ('' when the client sent none). */
  clientId: string;
  /** PUBLISH/other packets parsed and dropped: the full queue plus the one that overflowed it. */
  dropped: number;
  limit: number;
}

/** Hooks to give to aedes: `queueLimit` and `preConnect`, plus an error observer. */
export class ConnectQueueGuard {
  private readonly clientIds = new WeakMap<Client, string>();
  private readonly refused = new WeakSet<Client>();

  constructor(
    /** Packets held before CONNACK; passed to aedes as `queueLimit`. */
    readonly limit: number,
    private readonly onRefused: (refusal: ConnectQueueRefusal) => void,
  ) {}

  /**
   * aedes `preConnect`: remembers the client id of the CONNECT, because an overflow
   * happens while the CONNECT is still being handled, before aedes sets `client.id`.
   */
  readonly preConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    this.clientIds.set(client, packet.clientId);
    callback(null, true);
  };

  /**
   * Feed every aedes `connectionError` / `clientError` here. Returns true when the
   * error was a pre-CONNACK queue overflow (reported once per connection).
   */
  observe(client: Client, err: Error): boolean {
    if (err.message !== QUEUE_FULL_MESSAGE) return false;
    if (!this.refused.has(client)) {
      this.refused.add(client);
      this.onRefused({ clientId: this.clientIds.get(client) ?? '', dropped: this.limit + 1, limit: this.limit });
    }
    return true;
  }
}
