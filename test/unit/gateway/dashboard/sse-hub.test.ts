/**
 * The SSE hub's rules on a real HTTP server on loopback with real sockets: coalescing
 * per key, the byte bound with drops, and the stall rule (a socket that stops reading is
 * disconnected once it has not drained for `maxStallMs`).
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SseHub, sseEvent, type SseLimits } from '../../../../src/gateway/dashboard/sse-hub.js';

/** A hub behind a real server; every request to it becomes a stream watching `?w=`. */
async function serve(limits: Partial<SseLimits>): Promise<{ hub: SseHub; port: number }> {
  const hub = new SseHub(limits);
  const server: Server = createServer((req, res) => {
    const w = new URL(req.url ?? '/', 'http://x').searchParams.get('w');
    hub.add(res, new Set(w === null ? [] : [w]), {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(async () => {
    hub.close();
    await new Promise((r) => server.close(r));
  });
  return { hub, port: (server.address() as AddressInfo).port };
}

/** Connects, waits for the hello event, then stops reading. */
function stalledClient(port: number, path = '/'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    onTestFinished(() => void sock.destroy());
    let got = '';
    sock.on('data', function onData(b: Buffer) {
      got += b.toString();
      if (got.includes('event: hello')) {
        sock.off('data', onData);
        sock.pause();
        resolve(sock);
      }
    });
    sock.once('error', reject);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`condition not reached: ${what}`);
}

describe('SseHub', () => {
  it('coalesces a stalled client by key and bounds its bytes, dropping what does not fit', async () => {
    const { hub, port } = await serve({ maxQueuedBytes: 64 * 1024, maxDrops: 1_000_000, maxStallMs: 600_000 });
    await stalledClient(port, '/?w=a');
    await until(() => hub.stats().connected === 1, 'client connected');
    const blob = 'y'.repeat(8000);
    // Fill the kernel and socket buffers until the hub waits for drain.
    for (let i = 0; i < 10_000 && hub.stats().clients[0]?.waitingDrain !== true; i++) {
      hub.publish(`k${i}`, 'fill', { blob });
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.stats().clients[0]?.waitingDrain).toBe(true);
    const before = hub.stats().clients[0]!;
    // The same key 100 times: one queued event, 99 replaced.
    for (let i = 0; i < 100; i++) hub.publish('latest:a', 'latest', { i, blob }, 'a');
    const after = hub.stats().clients[0]!;
    expect(after.coalesced - before.coalesced).toBe(99);
    expect(after.queuedBytes - before.queuedBytes).toBe(Buffer.byteLength(sseEvent('latest', { i: 99, blob })));
    // Distinct keys beyond 64 KiB are dropped and counted; the queue stays within its bound.
    for (let i = 0; i < 50; i++) hub.publish(`other:${i}`, 'x', { blob });
    const full = hub.stats();
    expect(full.clients[0]!.queuedBytes).toBeLessThanOrEqual(64 * 1024);
    expect(full.clients[0]!.dropped).toBeGreaterThanOrEqual(50 - Math.floor((64 * 1024) / 8000));
    expect(full.dropped).toBe(full.clients[0]!.dropped);
    expect(full.clients[0]!.peakBufferedBytes).toBeLessThanOrEqual(2 * 64 * 1024 + 16 * 1024);
    // Only watchers get device-scoped events.
    hub.publish('latest:b', 'latest', { x: 1 }, 'b');
    expect(hub.stats().clients[0]!.offeredBytes).toBe(full.clients[0]!.offeredBytes);
  });

  it('disconnects a client whose socket has not drained for maxStallMs, and counts it', async () => {
    const { hub, port } = await serve({ maxQueuedBytes: 64 * 1024, maxDrops: 1_000_000, maxStallMs: 300 });
    const sock = await stalledClient(port);
    await until(() => hub.stats().connected === 1, 'client connected');
    const blob = 'z'.repeat(8000);
    for (let i = 0; i < 10_000 && hub.stats().clients[0]?.waitingDrain !== true; i++) {
      hub.publish(`k${i}`, 'fill', { blob });
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.stats().clients[0]?.waitingDrain).toBe(true);
    await until(() => hub.stats().disconnected.stalled === 1, 'stalled disconnect');
    const s = hub.stats();
    expect(s.connected).toBe(0);
    expect(s.recentDisconnects).toHaveLength(1);
    expect(s.recentDisconnects[0]).toMatchObject({ reason: 'stalled', waitingDrain: true, dropped: 0 });
    // The server side destroyed the socket: the client sees the connection end once it reads again.
    const closed = new Promise((r) => sock.once('close', r));
    sock.resume();
    await closed;
  });

  it('disconnects at maxDrops and refuses clients beyond maxClients', async () => {
    const { hub, port } = await serve({ maxQueuedBytes: 16 * 1024, maxDrops: 5, maxStallMs: 600_000, maxClients: 1 });
    await stalledClient(port);
    await until(() => hub.stats().connected === 1, 'client connected');
    expect(hub.hasRoom()).toBe(false);
    const blob = 'w'.repeat(4000);
    for (let i = 0; i < 10_000 && hub.stats().disconnected.drops === 0; i++) {
      hub.publish(`k${i}`, 'fill', { blob });
      await new Promise((r) => setImmediate(r));
    }
    const s = hub.stats();
    expect(s.disconnected.drops).toBe(1);
    expect(s.recentDisconnects[0]).toMatchObject({ reason: 'drops', dropped: 5 });
    expect(s.dropped).toBe(5);
    expect(hub.hasRoom()).toBe(true);
  });
});
