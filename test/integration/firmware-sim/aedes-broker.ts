/**
 * A real in-process aedes broker for the simulator's tests, recording every message it
 * accepted. It can be stopped (all client sockets destroyed) and started again on the
 * same port to play a broker restart.
 */
import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { payloadIdentity } from '../../../firmware-sim/identity.js';

/** A message the broker accepted from a client. */
export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  clientId: string;
}

/** The running broker and what it received (kept across restarts). */
export interface TestBroker {
  port: number;
  url: string;
  received: Received[];
  /** Identity (hex) → messages with that payload. */
  byId: Map<string, Received[]>;
  clientIds: Set<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts aedes on `port` (0 = a free one) on 127.0.0.1. */
export async function startTestBroker(port = 0): Promise<TestBroker> {
  const received: Received[] = [];
  const byId = new Map<string, Received[]>();
  const clientIds = new Set<string>();
  let broker: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const tb: TestBroker = {
    port,
    url: '',
    received,
    byId,
    clientIds,
    async start() {
      const b = await Aedes.createBroker();
      b.on('client', (c) => clientIds.add(c.id));
      b.on('publish', (packet, client) => {
        if (client === null || client === undefined) return;
        const r: Received = { topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, clientId: client.id };
        received.push(r);
        const id = payloadIdentity(r.payload).toString('hex');
        byId.set(id, [...(byId.get(id) ?? []), r]);
      });
      const s = createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        b.handle(sock);
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(tb.port, '127.0.0.1', () => resolve());
      });
      tb.port = (s.address() as AddressInfo).port;
      tb.url = `mqtt://127.0.0.1:${tb.port}`;
      broker = b;
      server = s;
    },
    async stop() {
      const s = server;
      const b = broker;
      server = undefined;
      broker = undefined;
      for (const sock of sockets) sock.destroy();
      if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
      if (b !== undefined) await new Promise<void>((r) => b.close(() => r()));
    },
  };
  await tb.start();
  return tb;
}
