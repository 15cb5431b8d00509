/** A small publisher fleet for the durability tests: QoS 1 at full speed, recording PUBACKs. */
import mqtt, { type MqttClient } from 'mqtt';

/** What the fleet sent and which messages got their PUBACK. */
export interface FleetRecord {
  /** `${device}:${seq}` of every PUBACKed message. */
  acked: Set<string>;
  /** Messages handed to the client library. */
  sent: number;
}

/** A running fleet. */
export interface Fleet {
  record: FleetRecord;
  /** Stops publishing and force-closes the clients (unacked publishes are abandoned). */
  stop(): void;
}

/**
 * `clients` connections, each publishing for `devicesPerClient` devices with at
 * most `window` unacknowledged messages, until stopped or `perDevice` each.
 */
export function startFleet(url: string, opts: { clients: number; devicesPerClient: number; window: number; perDevice: number; prefix?: string }): Fleet {
  const record: FleetRecord = { acked: new Set(), sent: 0 };
  let stopped = false;
  const clients: MqttClient[] = [];
  for (let c = 0; c < opts.clients; c++) {
    // No reconnect: a killed daemon ends this client's run; what was acked is recorded.
    const client = mqtt.connect(url, { clientId: `fleet-${opts.prefix ?? ''}${c}`, reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('error', () => {});
    clients.push(client);
    const devices = Array.from({ length: opts.devicesPerClient }, (_, i) => `${opts.prefix ?? 'fd'}-${c}-${i}`);
    let next = 0;
    let inFlight = 0;
    const pump = (): void => {
      while (!stopped && client.connected && inFlight < opts.window && next < opts.perDevice * devices.length) {
        const seq = Math.floor(next / devices.length);
        const device = devices[next % devices.length]!;
        next++;
        inFlight++;
        record.sent++;
        client.publish(`devices/${device}/telemetry`, JSON.stringify({ seq, device, pad: 'x'.repeat(64) }), { qos: 1 }, (err) => {
          inFlight--;
          if (err === undefined || err === null) record.acked.add(`${device}:${seq}`);
          pump();
        });
      }
    };
    client.on('connect', pump);
  }
  return {
    record,
    stop() {
      stopped = true;
      for (const c of clients) c.end(true);
    },
  };
}
