/**
 * Oversize requests over a raw socket against the real daemon: a path parameter over
 * the router's limit (414) and a request head over Node's header limit (431) answer in
 * the documented `{"error":{"code","errno","message"}}` shape, not fastify's own body.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** Sends `head` as-is and returns the raw response once the server closes or 2 s pass. */
async function rawRequest(port: number, head: string): Promise<{ status: number; body: unknown }> {
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(head));
    let data = '';
    s.on('data', (c: Buffer) => {
      data += c.toString();
      if (/\r\n\r\n/.test(data) && /Content-Length: (\d+)/i.test(data)) {
        const len = Number(/Content-Length: (\d+)/i.exec(data)![1]);
        if (Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)) >= len) s.end();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
  return { status, body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) };
}

describe('oversize HTTP requests', () => {
  it('414 and 431 carry the registry error body', async () => {
    const d = await startDaemon({ dataDir: join(tmpDir(), 'data') });
    const longParam = await rawRequest(d.httpPort, `GET /devices/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longParam.status).toBe(414);
    expect(longParam.body).toEqual({ error: { code: 'URI_TOO_LONG', errno: -33208, message: expect.any(String) } });

    const bigHeader = await rawRequest(d.httpPort, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(bigHeader.status).toBe(431);
    expect(bigHeader.body).toEqual({ error: { code: 'HEADERS_TOO_LARGE', errno: -33209, message: expect.any(String) } });

    const longUrl = await rawRequest(d.httpPort, `GET /healthz?x=${'c'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longUrl.status).toBe(431);
    expect((longUrl.body as { error: { code: string } }).error.code).toBe('HEADERS_TOO_LARGE');
    expect(await d.kill('SIGTERM')).toBe(0);
  }, 60_000);
});
