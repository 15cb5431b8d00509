/**
 * API tokens on the gateway's HTTP API: a real daemon (in-process, loopback port 0) with a
 * tokens file made by the same code as `lmj-edge token create`, real HTTP requests. Every
 * route but /healthz needs a token; read tokens read, admin tokens also reach the admin
 * routes; each refusal is counted. A second, bare API (the same hook) shows the rate
 * limit and that the "token required" decision follows the configured listen address.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/gateway/config/index.js';
import { startDaemon, type Daemon } from '../../../src/gateway/daemon.js';
import { ApiTokens, createApiToken } from '../../../src/http/api-tokens.js';
import { buildHttpApi } from '../../../src/http/server.js';
import { ProcessMetrics } from '../../../src/http/metrics.js';
import { createLogger } from '../../../src/http/logger.js';
import { createIngestor } from '../../../src/gateway/ingest/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/types.js';

const silent = createLogger('silent');
let dir: string;
let daemon: Daemon;
let base: string;
let readToken: string;
let adminToken: string;
let tokensFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-api-auth-'));
  tokensFile = join(dir, 'api-tokens.json');
  readToken = createApiToken(tokensFile, 'read', 'grafana').token;
  adminToken = createApiToken(tokensFile, 'admin').token;
  const cfg = defaultConfig();
  cfg.dataDir = join(dir, 'data');
  cfg.mqtt.port = 0;
  cfg.http.port = 0;
  cfg.http.apiTokensFile = tokensFile;
  // Many refusals on purpose here; the limit itself is tested below.
  cfg.http.authFailuresPerMinute = 10_000;
  daemon = await startDaemon(cfg, { log: silent });
  base = `http://127.0.0.1:${daemon.http.port}`;
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${daemon.mqtt?.port}`, { clientId: 'auth-pub', reconnectPeriod: 0 });
  await c.publishAsync('devices/dev-1/telemetry', '{"t":21.5}', { qos: 1 });
  await c.publishAsync('bad/topic', '{"t":1}', { qos: 1 });
  await c.endAsync();
});

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: 'GET' | 'POST', path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as { error?: { code: string } } };
}

async function deniedCount(reason: string): Promise<number> {
  const res = await call('GET', '/metrics', adminToken);
  const line = res.text.split('\n').find((l) => l.startsWith(`lmj_http_auth_denied_total{reason="${reason}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** Every route the daemon serves (and one it does not). */
const READ_ROUTES: ['GET' | 'POST', string, unknown?][] = [
  ['GET', '/devices'],
  ['GET', '/devices/dev-1'],
  ['GET', '/devices/dev-1/latest'],
  ['GET', '/devices/dev-1/readings'],
  ['GET', '/devices/dev-1/series?fields=t'],
  ['GET', '/metrics'],
  ['GET', '/'],
  ['GET', '/dashboard/overview'],
  ['GET', '/dashboard/assets/app.js'],
  ['GET', '/retention/status'],
  ['POST', '/query', { sql: 'SELECT count(*) AS n FROM readings' }],
];
const ADMIN_ROUTES: ['GET' | 'POST', string][] = [
  ['GET', '/deadletters'],
  ['POST', '/retention/run'],
];

describe('API tokens on the gateway', () => {
  it('answers nothing but /healthz without a token (401 TOKEN_MISSING, counted), unknown routes included', async () => {
    const before = await deniedCount('missing');
    const all: ['GET' | 'POST', string, unknown?][] = [...READ_ROUTES, ...ADMIN_ROUTES, ['GET', '/events'], ['GET', '/devices/dev-1/entities/01' + '0'.repeat(32)], ['GET', '/no-such-route'], ['POST', '/devices']];
    for (const [method, path, body] of all) {
      const res = await call(method, path, undefined, body);
      expect({ path, status: res.status, code: res.json().error?.code }).toEqual({ path, status: 401, code: 'TOKEN_MISSING' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="lmj-edge"');
      expect(res.text).not.toContain('21.5');
    }
    expect(await deniedCount('missing')).toBe(before + all.length);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('refuses a wrong token and a malformed header with 401 TOKEN_INVALID / TOKEN_MISSING', async () => {
    const before = await deniedCount('invalid');
    const wrong = await call('GET', '/devices/dev-1/latest', `${readToken.slice(0, -2)}xx`);
    expect([wrong.status, wrong.json().error?.code]).toEqual([401, 'TOKEN_INVALID']);
    const res = await request(`${base}/devices`, { headers: { authorization: readToken } });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
    expect(await deniedCount('invalid')).toBe(before + 1);
  });

  it('a read token reads everything but the admin routes (403 INSUFFICIENT_SCOPE, counted)', async () => {
    for (const [method, path, body] of READ_ROUTES) {
      const res = await call(method, path, readToken, body);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    const latest = await call('GET', '/devices/dev-1/latest', readToken);
    expect(latest.json()).toMatchObject({ id: 'dev-1', values: { t: 21.5 } });
    const before = await deniedCount('scope');
    for (const [method, path] of ADMIN_ROUTES) {
      const res = await call(method, path, readToken);
      expect({ path, status: res.status, code: res.json().error?.code }).toEqual({ path, status: 403, code: 'INSUFFICIENT_SCOPE' });
    }
    expect(await deniedCount('scope')).toBe(before + ADMIN_ROUTES.length);
  });

  it('an admin token reaches the admin routes', async () => {
    const dl = await call('GET', '/deadletters', adminToken);
    expect(dl.status).toBe(200);
    expect(JSON.parse(dl.text)).toMatchObject({ deadLetters: [{ code: 'BAD_TOPIC', topic: 'bad/topic' }] });
    const run = await call('POST', '/retention/run', adminToken);
    expect(run.status).toBe(200);
  });

  it('logs a browser in with /?token=: an HttpOnly cookie for page loads and events, never for writes', async () => {
    const login = await call('GET', `/?token=${encodeURIComponent(readToken)}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toBe(`lmj_token=${readToken}; Path=/; HttpOnly; SameSite=Strict`);
    const withCookie = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await request(`${base}${path}`, { method, headers: { cookie: `theme=dark; ${cookie.split(';')[0]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await withCookie('GET', '/')).toBe(200);
    expect(await withCookie('GET', '/dashboard/overview')).toBe(200);
    expect(await withCookie('GET', '/deadletters')).toBe(403);
    expect(await withCookie('POST', '/query', { sql: 'SELECT count(*) AS n FROM readings' })).toBe(401);
    const bad = await call('GET', '/?token=lmj_wrong');
    expect([bad.status, bad.json().error?.code]).toEqual([401, 'TOKEN_INVALID']);
  });

  it('keeps only hashes at rest', () => {
    const text = readFileSync(tokensFile, 'utf8');
    expect(text).not.toContain(readToken);
    expect(text).not.toContain(adminToken);
    expect(text).not.toContain(readToken.slice(4, 24));
    expect(text).toMatch(/"hash": "sha256:[0-9a-f]{64}"/);
  });
});

describe('the auth hook on a bare API', () => {
  let ingestor: Ingestor;
  let file: string;
  let token: string;
  const apps: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    ingestor = await createIngestor({ dataDir: join(dir, 'bare') });
    file = join(dir, 'bare-tokens.json');
    token = createApiToken(file, 'read').token;
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await ingestor.close();
  });

  async function api(listenHost: string, loopbackOpen: boolean) {
    const metrics = new ProcessMetrics('test');
    const app = buildHttpApi({ source: ingestor, metrics, log: silent, auth: { listenHost, tokens: ApiTokens.load(file), loopbackOpen } });
    apps.push(app);
    // Always bound to loopback: the configured address only decides the policy.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    return { url: `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`, metrics };
  }

  it('requires tokens for a non-loopback listen address even with loopback-open; a loopback one with it is open', async () => {
    const remote = await api('192.0.2.10', true);
    const r1 = await request(`${remote.url}/devices`);
    expect(r1.statusCode).toBe(401);
    await r1.body.dump();
    const open = await api('127.0.0.1', true);
    const r2 = await request(`${open.url}/devices`);
    expect(r2.statusCode).toBe(200);
    await r2.body.dump();
  });

  it('answers 429 after 10 failures a minute from one address, even with a good token, counted', async () => {
    const { url, metrics } = await api('192.0.2.10', false);
    for (let i = 0; i < 10; i++) {
      const r = await request(`${url}/devices`, { headers: { authorization: `Bearer nope-${i}` } });
      expect(r.statusCode).toBe(401);
      await r.body.dump();
    }
    const limited = await request(`${url}/devices`, { headers: { authorization: `Bearer ${token}` } });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(await limited.body.json()).toMatchObject({ error: { code: 'AUTH_RATE_LIMITED' } });
    const text = await metrics.registry.getSingleMetricAsString('lmj_http_auth_denied_total');
    expect(text).toContain('lmj_http_auth_denied_total{reason="invalid"} 10');
    expect(text).toContain('lmj_http_auth_denied_total{reason="rate_limited"} 1');
    // /healthz stays reachable for probes.
    const h = await request(`${url}/healthz`);
    expect(h.statusCode).toBe(200);
    await h.body.dump();
  });
});
