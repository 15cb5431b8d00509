/**
 * `--duration` is a hard deadline: against a broker that applies back-pressure (a real
 * aedes broker whose `authorizePublish` holds messages, as the daemon's admission does
 * when it stops acking: aedes then stops reading that client, TCP fills up and the
 * simulator's writes wait for 'drain'), the simulator stops publishing at the deadline, waits at most the
 * drain timeout for QoS 1 acks, and reports — instead of waiting out its drain timeout
 * for QoS 0 writes the broker never reads.
 */
import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSim } from '../../../firmware-sim/sim.js';

let broker: Aedes;
let server: Server;
let url = '';
let received = 0;
const sockets = new Set<Socket>();
/** While set, publications after the first `holdAfter` are held (not authorized yet): the broker pushes back. */
let holding = false;
let holdAfter = 100;
const held: (() => void)[] = [];

beforeAll(async () => {
  broker = await Aedes.createBroker({
    authorizePublish: (_client, _packet, done) => {
      received++;
      if (holding && received > holdAfter) held.push(() => done(null));
      else done(null);
    },
  });
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

/** Lets every held publication through and stops holding. */
function release(): void {
  holding = false;
  for (const fn of held.splice(0)) fn();
}

afterAll(async () => {
  release();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
});

describe('simulator deadline under back-pressure', () => {
  it('QoS 1: waits for acks at most the drain timeout, then reports them unacked', { timeout: 20_000 }, async () => {
    received = 0;
    // Some pass, so that some are acked before the broker stops acking.
    holdAfter = 100;
    holding = true;
    const s = await runSim({ broker: url, devices: 2, qos: 1, rate: 0, durationS: 1, drainTimeoutMs: 500, progressMs: 60_000 });
    expect(s.acked).toBeGreaterThan(0);
    expect(held.length).toBeGreaterThan(0);
    expect(s.unacked).toBeGreaterThan(0);
    expect(s.unsent).toBe(0);
    expect(s.generateS).toBeLessThan(3);
    // Deadline + drain timeout + the bounded DISCONNECT, with room for a loaded machine.
    expect(s.elapsedS).toBeLessThan(1 + 0.5 + 2 + 3);
  });

  it('QoS 0, unlimited rate: stops at the deadline and reports without waiting out the drain timeout', { timeout: 20_000 }, async () => {
    release();
    received = 0;
    // From the first message: a loaded machine may not get 100 through in the second.
    holdAfter = 0;
    holding = true;
    const s = await runSim({ broker: url, devices: 2, qos: 0, rate: 0, durationS: 1, drainTimeoutMs: 30_000, progressMs: 60_000 });
    // The broker really pushed back: it holds what it read, and much of what was written was never read.
    expect(held.length).toBeGreaterThan(0);
    expect(s.published).toBeGreaterThan(received * 2);
    expect(s.generateS).toBeGreaterThanOrEqual(1);
    expect(s.generateS).toBeLessThan(3);
    // Far below the 30 s drain timeout the old pump waited out.
    expect(s.elapsedS).toBeLessThan(8);
  });
});
