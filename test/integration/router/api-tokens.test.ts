/**
 * The router's query API takes the API tokens, its upload endpoint keeps the gateway
 * tokens, and a plain-text gateway tokens file is hashed in place on start. One real
 * router (loopback port 0, one data node) fed by a real gateway ingest pipeline.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../../src/http/api-tokens.js';
import { startRouter, type Router } from '../../../src/router/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { TOKEN, gatewayRecords, ingestor, postBatch, publish, silent } from '../sync/helpers.js';

let dir: string;
let r: Router;
let base: string;
let readToken: string;
let gatewayFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-router-auth-'));
  // A tokens file as routers wrote them before hashing: plain tokens.
  gatewayFile = join(dir, 'gateways.json');
  writeFileSync(gatewayFile, JSON.stringify({ gateways: { 'gw-1': TOKEN, 'gw-2': 'gw-2-secret-token-0123456789' } }));
  const apiFile = join(dir, 'api-tokens.json');
  readToken = createApiToken(apiFile, 'read').token;
  r = await startRouter({ dataDir: join(dir, 'router'), httpPort: 0, tokensFile: gatewayFile, apiTokensFile: apiFile, authFailuresPerMinute: 1000, nodes: 1, durability: 'fast', log: silent });
  base = `http://127.0.0.1:${r.http.port}`;
  const gw = await ingestor(join(dir, 'gw'));
  await publish(gw, 'dev-a', 0, 5);
  const records = await gatewayRecords(gw, 'dev-a');
  await gw.close();
  // The upload authenticates with the gateway token only, as before.
  const up = await postBatch(r, encodeBatch({ gatewayId: 'gw-1', seq: 1, devices: [{ deviceId: 'dev-a', records }] }));
  expect(up.status).toBe(200);
});

afterAll(async () => {
  await r?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, token?: string, method: 'GET' | 'POST' = 'GET', body?: unknown) {
  const res = await request(`${base}${path}`, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

const QUERY_ROUTES: ['GET' | 'POST', string, unknown?][] = [
  ['GET', '/devices'],
  ['GET', '/devices/dev-a'],
  ['GET', '/devices/dev-a/latest'],
  ['GET', '/devices/dev-a/readings'],
  ['GET', '/devices/dev-a/location'],
  ['GET', '/routing'],
  ['GET', '/metrics'],
  ['POST', '/query', { sql: 'SELECT count(*) AS n FROM readings' }],
];

describe('router API tokens', () => {
  it('answers no query without a token, and every query with a read token', async () => {
    for (const [method, path, body] of QUERY_ROUTES) {
      const res = await get(path, undefined, method, body);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(res.text).not.toContain('dev-a');
      const wrong = await get(path, 'lmj_not-a-token', method, body);
      expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
    }
    for (const [method, path, body] of QUERY_ROUTES) {
      const res = await get(path, readToken, method, body);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    const readings = JSON.parse((await get('/devices/dev-a/readings', readToken)).text) as { readings: unknown[] };
    expect(readings.readings).toHaveLength(5);
    expect((await get('/deadletters', readToken)).status).toBe(403);
    expect((await get('/healthz')).status).toBe(200);
    const metrics = (await get('/metrics', readToken)).text;
    expect(metrics).toMatch(new RegExp(`lmj_http_auth_denied_total\\{reason="missing"\\} ${QUERY_ROUTES.length}\\b`));
    expect(metrics).toMatch(new RegExp(`lmj_http_auth_denied_total\\{reason="invalid"\\} ${QUERY_ROUTES.length}\\b`));
    expect(metrics).toMatch(/lmj_http_auth_denied_total\{reason="scope"\} 1\b/);
  });

  it('an API token is no gateway token: the upload still wants the gateway token', async () => {
    const res = await postBatch(r, encodeBatch({ gatewayId: 'gw-1', seq: 2, devices: [] }), { 'x-lmj-gateway': 'gw-1', authorization: `Bearer ${readToken}` });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('hashed the plain gateway tokens file in place on start', () => {
    const text = readFileSync(gatewayFile, 'utf8');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('gw-2-secret-token');
    expect(JSON.parse(text)).toEqual({ gateways: { 'gw-1': expect.stringMatching(/^sha256:[0-9a-f]{64}$/), 'gw-2': expect.stringMatching(/^sha256:[0-9a-f]{64}$/) } });
  });

  it('refuses to listen beyond loopback without API tokens', async () => {
    await expect(startRouter({ dataDir: join(dir, 'r2'), httpHost: '0.0.0.0', httpPort: 0, tokensFile: gatewayFile, nodes: 1, log: silent })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: expect.stringMatching(/API tokens are required \(--api-tokens FILE/),
    });
  });
});
