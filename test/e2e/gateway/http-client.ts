/** Small HTTP helpers for the gateway e2e tests (real sockets). */
import { request } from 'node:http';

/** GET JSON; returns status and parsed body. */
export async function getJson(base: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** GET text (e.g. /metrics). */
export async function getText(base: string, path: string): Promise<string> {
  return (await fetch(`${base}${path}`)).text();
}

/** GET with the raw path sent as-is (no URL normalisation, unlike fetch). */
export function getRaw(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every reading of a device (all pages). */
export async function allReadings(base: string, deviceId: string): Promise<Array<{ ts: number; ptr: string; values: Record<string, unknown> }>> {
  const out: Array<{ ts: number; ptr: string; values: Record<string, unknown> }> = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`;
    const { status, body } = await getJson(base, `/devices/${deviceId}/readings?limit=1000${q}`);
    if (status === 404) return out;
    if (status !== 200) throw new Error(`readings ${deviceId}: HTTP ${status} ${JSON.stringify(body)}`);
    out.push(...body.readings);
    cursor = body.next;
  } while (cursor !== null);
  return out;
}

/** Polls `fn` until it returns true (or throws after `ms`). */
export async function waitFor(fn: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
