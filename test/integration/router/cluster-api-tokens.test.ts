/**
 * The cluster router (`router --etcd`, in-process, loopback port 0, a real etcd) takes the
 * API tokens on its read routes through the same hook as the single-process router.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, initTable } from '../../../src/cluster/index.js';
import { createApiToken } from '../../../src/http/api-tokens.js';
import { startClusterRouter, type ClusterRouter } from '../../../src/router/cluster/cluster-router.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { silent } from '../sync/helpers.js';

let etcd: EtcdCluster;
let router: ClusterRouter;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-cluster-auth-'));
  etcd = await startEtcd(1);
  const client = connectEtcd(etcd.urls);
  await initTable(client, 16384);
  client.close();
  const file = join(dir, 'api-tokens.json');
  token = createApiToken(file, 'read').token;
  router = await startClusterRouter({ etcd: etcd.urls, httpPort: 0, apiTokensFile: file, log: silent });
});

afterAll(async () => {
  await router?.stop();
  await etcd?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, auth?: string): Promise<{ status: number; text: string }> {
  const res = await request(`http://127.0.0.1:${router.http.port}${path}`, { headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('cluster router API tokens', () => {
  it('answers /routing, /devices and /metrics only with a token; /healthz always', async () => {
    for (const path of ['/routing', '/devices', '/devices/dev-1/latest', '/metrics']) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 401 });
    }
    const routing = await get('/routing', token);
    expect(routing.status).toBe(200);
    expect(JSON.parse(routing.text)).toMatchObject({ version: expect.any(Number) });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics', token)).text).toMatch(/lmj_http_auth_denied_total\{reason="missing"\} 4\b/);
  });

  it('refuses a non-loopback listener without API tokens before touching etcd', async () => {
    await expect(startClusterRouter({ etcd: etcd.urls, httpHost: '0.0.0.0', httpPort: 0, tokensFile: join(dir, 'none.json'), log: silent })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: expect.stringMatching(/API tokens are required/),
    });
  });
});
