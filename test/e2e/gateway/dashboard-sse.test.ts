/**
 * The dashboard's SSE stream against the compiled daemon: live events, and
 * back-pressure with a real slow client (a raw socket that stops reading after the
 * response headers) while a reading client keeps up.
 */
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { getJson, getText } from './http-client.js';

const TIMEOUT = 180_000;
/** Devices the slow client watches: 32 × 16 KB latest values exceed its 256 KiB queue. */
const WATCHED = Array.from({ length: 32 }, (_, i) => `big-${i}`);
const BLOB = 'x'.repeat(16_000);

/** Opens `/events` on a raw socket and resolves once the `hello` event arrived; then stops reading. */
function slowClient(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let got = '';
    const onData = (b: Buffer): void => {
      got += b.toString();
      if (got.includes('event: hello')) {
        sock.off('data', onData);
        // pause(): Node stops reading the socket, so the kernel buffers fill and the daemon sees back-pressure.
        sock.pause();
        resolve(sock);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

/** A client that reads everything; collects the text it received. */
async function readingClient(url: string): Promise<{ text: () => string; close: () => void }> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  let text = '';
  const reader = res.body!.getReader();
  void (async () => {
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done === true) return;
      // Keep only the tail: the test looks for the newest value, not the history.
      text = (text + dec.decode(value)).slice(-200_000);
    }
  })();
  return { text: () => text, close: () => ac.abort() };
}

describe('dashboard SSE', () => {
  it(
    'keeps a stalled client bounded, drops and counts its events, disconnects it, and keeps serving a reading client',
    async () => {
      const d = await startDaemon({ dataDir: tmpDir() });
      const pub = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'sse-pub' });
      const slow = await slowClient(d.httpPort, `/events?watch=${WATCHED.join(',')}`);
      const good = await readingClient(`${d.httpUrl}/events?watch=big-0`);
      try {
        const limits = (await getJson(d.httpUrl, '/dashboard/overview')).body.sse;
        expect(limits.connected).toBe(2);
        const maxQueued = 256 * 1024;
        let sse: any;
        let round = 0;
        // Publish rounds until the daemon disconnects the stalled client (the condition under test);
        // the round cap turns a daemon that never does into a failure instead of a hang.
        for (; round < 300; round++) {
          await Promise.all(WATCHED.map((id) => pub.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: round, blob: BLOB }), { qos: 1 })));
          sse = (await getJson(d.httpUrl, '/dashboard/overview')).body.sse;
          if (sse.disconnected.drops > 0) break;
        }
        expect(sse.disconnected.drops).toBe(1);
        const gone = sse.recentDisconnects.find((c: any) => c.reason === 'drops');
        expect(gone.watch).toHaveLength(WATCHED.length);
        // The bound was exercised: far more was offered than the queue holds ...
        expect(gone.offeredBytes).toBeGreaterThan(10 * maxQueued);
        expect(gone.dropped).toBeGreaterThanOrEqual(200);
        // ... and the daemon never held more than one queue plus one chunk in Node's socket buffer.
        expect(gone.peakBufferedBytes).toBeLessThanOrEqual(2 * maxQueued + 64 * 1024);
        expect(gone.peakBufferedBytes).toBeGreaterThan(0);
        // The reading client was never dropped and is still connected.
        expect(sse.connected).toBe(1);
        expect(sse.clients[0].dropped).toBe(0);
        expect(sse.clients[0].watch).toEqual(['big-0']);
        const metrics = await getText(d.httpUrl, '/metrics');
        expect(metrics).toMatch(/lmj_dashboard_sse_disconnects_total\{reason="drops"\} 1\b/);
        const dropped = Number(/lmj_dashboard_sse_dropped_total (\d+)/.exec(metrics)?.[1]);
        expect(dropped).toBeGreaterThanOrEqual(200);
        // The reading client gets the newest value of its device (coalescing keeps the latest).
        const last = round;
        await pub.publishAsync('devices/big-0/telemetry', JSON.stringify({ seq: last + 1, final: true }), { qos: 1 });
        const want = `"seq":${last + 1}`;
        for (let i = 0; i < 600 && !good.text().includes(want); i++) await new Promise((r) => setTimeout(r, 50));
        expect(good.text()).toContain(want);
        expect(good.text()).toContain('event: seen\ndata: {"id":"big-0"');
        expect((await getJson(d.httpUrl, '/healthz')).status).toBe(200);
      } finally {
        slow.destroy();
        good.close();
        await pub.endAsync();
        await d.kill('SIGKILL');
      }
    },
    TIMEOUT,
  );

  it('refuses a bad watch list with the API error shape', async () => {
    const d = await startDaemon({ dataDir: tmpDir() });
    try {
      const bad = await getJson(d.httpUrl, '/events?watch=a/b');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('BAD_REQUEST');
      const many = await getJson(d.httpUrl, `/events?watch=${Array.from({ length: 33 }, (_, i) => `d${i}`).join(',')}`);
      expect(many.status).toBe(400);
      expect(many.body.error).toMatchObject({ code: 'BAD_REQUEST', errno: -33204 });
      const extra = await getJson(d.httpUrl, '/events?nope=1');
      expect(extra.status).toBe(400);
    } finally {
      await d.kill('SIGKILL');
    }
  }, TIMEOUT);
});
