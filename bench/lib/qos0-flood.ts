/**
 * A QoS 0 flood: raw MQTT 3.1.1 connections that write unique telemetry PUBLISHes as
 * fast as their sockets take them (waiting only for `drain`), for a fixed time. No
 * acks, no flow control: what an unthrottled fleet does to whatever it publishes to.
 * Used by bench/flood.ts and test/e2e/gateway/external-flood.test.ts.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** Options of {@link qos0Flood}. */
export interface FloodOptions {
  port: number;
  clients: number;
  /** How long each client writes. */
  durationMs: number;
  /** Devices per client (default 2; topics `devices/<prefix><c>-<d>/telemetry`, all the same length). */
  devicesPerClient?: number;
  prefix?: string;
}

/** What the flood wrote. */
export interface FloodResult {
  /** PUBLISH packets handed to the sockets (what was still unread at the deadline is dropped with the connection). */
  published: number;
}

const SEQ_DIGITS = 10;

/** One client's devices: a PUBLISH template each, with the offset of its fixed-width `seq` digits. */
function templates(client: number, devices: number, prefix: string): Array<{ packet: Buffer; at: number }> {
  return Array.from({ length: devices }, (_, d) => {
    const payload = Buffer.from(`{"env":{"temp":21.5,"hum":48,"pres":1013.2},"bat":3.7,"c":${client},"seq":${'1'.repeat(SEQ_DIGITS)}}`);
    const packet = mqttPacket.generate({ cmd: 'publish', topic: `devices/${prefix}${client}-${d}/telemetry`, payload, qos: 0, dup: false, retain: false });
    return { packet, at: packet.length - 1 - SEQ_DIGITS };
  });
}

/** About 64 KiB of unique ~100-byte readings (the templates with the next `seq` numbers written in). */
function chunk(tpl: ReadonlyArray<{ packet: Buffer; at: number }>, seq: { n: number }): Buffer {
  const size = tpl[0]!.packet.length;
  const count = Math.ceil((64 * 1024) / size);
  const out = Buffer.allocUnsafe(count * size);
  for (let k = 0; k < count; k++) {
    const i = seq.n++;
    const t = tpl[i % tpl.length]!;
    t.packet.copy(out, k * size);
    // Fixed width without leading zeros (JSON numbers cannot have them).
    out.write(String(10 ** (SEQ_DIGITS - 1) + i), k * size + t.at, 'latin1');
  }
  return out;
}

function floodOne(o: Required<FloodOptions>, client: number, until: number): Promise<number> {
  return new Promise((resolve) => {
    const seq = { n: 0 };
    const tpl = templates(client, o.devicesPerClient, o.prefix);
    let written = 0;
    let done = false;
    const socket: Socket = connect(o.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    // At the deadline the connection goes, with whatever the receiver has not read yet:
    // a back-pressured flood must not outlast its duration waiting for `drain`.
    const timer = setTimeout(() => {
      done = true;
      socket.destroy();
    }, Math.max(0, until - Date.now()));
    const pump = (): void => {
      while (!done) {
        const before = seq.n;
        const ok = socket.write(chunk(tpl, seq));
        written += seq.n - before;
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `${o.prefix}flood-${client}`, clean: true, keepalive: 60 }));
      pump();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      done = true;
      resolve(written);
    });
  });
}

/** Runs `clients` flooding connections for `durationMs` and resolves when all have ended. */
export async function qos0Flood(opts: FloodOptions): Promise<FloodResult> {
  const o: Required<FloodOptions> = { devicesPerClient: 2, prefix: 'fl', ...opts };
  // Same-length topics, so every packet of a client has the same size.
  if (o.clients > 10 || o.devicesPerClient > 10) throw new Error('qos0Flood: at most 10 clients and 10 devices per client');
  const until = Date.now() + o.durationMs;
  const counts = await Promise.all(Array.from({ length: o.clients }, (_, c) => floodOne(o, c, until)));
  return { published: counts.reduce((a, b) => a + b, 0) };
}
