/**
 * The uplink over HTTPS, in one process: a real ingest pipeline and sync service, a real
 * router serving HTTPS with openssl-made certificates. With the right `--upstream-ca` the
 * readings sync; with a wrong CA or an expired router certificate nothing syncs, the
 * failure is UPSTREAM_TLS and counted, and the backlog is kept until a right CA sends it.
 * Also: the router's API is reachable only with the CA, and a router requiring client
 * certificates (`--tls-ca`) serves a peer that presents one and refuses one that does not.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { exportRecords } from '../../../src/core/telemetry/records.js';
import type { ClientCertMode } from '../../../src/http/tls-listener.js';
import { loadTlsMaterial } from '../../../src/http/tls-material.js';
import { HttpPools } from '../../../src/router/cluster/http-pools.js';
import { startRouter, type Router } from '../../../src/router/index.js';
import { startSync, type SyncService } from '../../../src/sync/index.js';
import { makeCa, type CertFiles, type TestCa } from '../../helpers/certs.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, ingestor, publish, silent, tokensFile } from './helpers.js';

let certDir: string;
let ca: TestCa;
let other: TestCa;
let serverCert: CertFiles;
let expiredCert: CertFiles;

beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'lmj-uplink-certs-'));
  ca = makeCa(certDir, 'ca');
  other = makeCa(certDir, 'other-ca');
  serverCert = ca.server('router');
  expiredCert = ca.server('router-expired', -1);
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function httpsRouter(dir: string, cert: CertFiles = serverCert, clientCerts: ClientCertMode = 'off'): Promise<Router> {
  const r = await startRouter({
    dataDir: dir,
    httpPort: 0,
    tokensFile: tokensFile(dir),
    nodes: 1,
    durability: 'fast',
    log: silent,
    https: { material: loadTlsMaterial({ ...cert, ca: ca.cert }), clientCerts, handshakeTimeoutMs: 5000, listener: 'router' },
  });
  cleanups.push(() => r.stop());
  return r;
}

async function gateway(dir: string, port: number, upstreamCa: string): Promise<{ ing: Ingestor; sync: SyncService }> {
  let sync: SyncService | undefined;
  const ing = await ingestor(dir, { result: (r) => r.status === 'stored' && sync?.onStored(r.deviceId, r.ts) });
  const s = startSync(
    { dataDir: dir, durable: false, devices: ing },
    { upstream: `https://127.0.0.1:${port}`, token: TOKEN, gatewayId: 'gw-1', backoffMs: 20, maxBackoffMs: 100, batchDelayMs: 5, upstreamCa },
  );
  sync = s;
  const stop = async (): Promise<void> => {
    s.releaseGate();
    await s.close();
    await ing.close();
  };
  cleanups.push(stop);
  return { ing, sync: s };
}

async function waitFor(what: string, fn: () => boolean, state: () => unknown, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metricValue(r: Router, name: string, labels: string): Promise<number> {
  const res = await request(`https://127.0.0.1:${r.http.port}/metrics`, { dispatcher: new Agent({ connect: { ca: readFileSync(ca.cert) } }) });
  const line = (await res.body.text()).split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('uplink over HTTPS', () => {
  it('syncs with the right CA', async () => {
    const dir = tmpDir('lmj-uplink-tls-');
    const r = await httpsRouter(join(dir, 'router'));
    const gw = await gateway(join(dir, 'gw'), r.http.port, ca.cert);
    await publish(gw.ing, 'tls-1', 0, 20);
    const status = (): ReturnType<SyncService['status']> => gw.sync.status();
    await waitFor('synced', () => status().counters.readingsSynced === 20 && status().backlog.readings === 0, status);
    expect(status().counters.tlsFailures).toBe(0);
    const remote = await r.nodes.nodeOf('tls-1').pool.use('tls-1', (st) => st.read((txn) => exportRecords(txn, undefined, 1000).length));
    expect(remote).toBe(20);
  });

  it('does not sync with a wrong CA or an expired router certificate, counts it and keeps the backlog for a right CA', async () => {
    const dir = tmpDir('lmj-uplink-tls-');
    const r = await httpsRouter(join(dir, 'router'));
    const gwDir = join(dir, 'gw');
    const wrong = await gateway(gwDir, r.http.port, other.cert);
    await publish(wrong.ing, 'tls-2', 0, 10);
    const status = (): ReturnType<SyncService['status']> => wrong.sync.status();
    await waitFor('a TLS failure', () => status().counters.tlsFailures >= 2, status);
    expect(status().lastError).toMatchObject({ code: 'UPSTREAM_TLS' });
    expect(status().lastError?.message).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(status().counters.readingsSynced).toBe(0);
    expect(status().backlog.readings).toBe(10);
    expect(await metricValue(r, 'lmj_tls_handshake_failures_total', '{listener="router",reason="peer_aborted"}')).toBeGreaterThanOrEqual(2);
    // Restart the same gateway with the right CA: the kept backlog goes up.
    for (const fn of cleanups.splice(1).reverse()) await fn();
    const right = await gateway(gwDir, r.http.port, ca.cert);
    const after = (): ReturnType<SyncService['status']> => right.sync.status();
    await waitFor('backlog synced', () => after().counters.readingsSynced === 10 && after().backlog.readings === 0, after);

    const expired = await httpsRouter(join(dir, 'router-expired'), expiredCert);
    const late = await gateway(join(dir, 'gw-expired'), expired.http.port, ca.cert);
    await publish(late.ing, 'tls-3', 0, 3);
    const lateStatus = (): ReturnType<SyncService['status']> => late.sync.status();
    await waitFor('an expired-certificate failure', () => lateStatus().counters.tlsFailures >= 1, lateStatus);
    expect(lateStatus().lastError?.message).toContain('CERT_HAS_EXPIRED');
    expect(lateStatus().backlog.readings).toBe(3);
  });

  it('serves its API to clients with the CA and refuses clients without it', async () => {
    const dir = tmpDir('lmj-uplink-tls-');
    const r = await httpsRouter(join(dir, 'router'));
    const ok = await request(`https://127.0.0.1:${r.http.port}/healthz`, { dispatcher: new Agent({ connect: { ca: readFileSync(ca.cert) } }) });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toMatchObject({ status: 'ok' });
    await expect(request(`https://127.0.0.1:${r.http.port}/healthz`)).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    await expect(request(`http://127.0.0.1:${r.http.port}/healthz`)).rejects.toMatchObject({ code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) });
    expect(await metricValue(r, 'lmj_tls_handshake_failures_total', '{listener="router",reason="protocol"}')).toBe(1);
  });

  it('with client certificates required, serves a peer presenting one and refuses one without', async () => {
    const dir = tmpDir('lmj-uplink-tls-');
    const r = await httpsRouter(join(dir, 'router'), serverCert, 'require');
    const origin = `https://127.0.0.1:${r.http.port}`;
    const peer = ca.client('router-1');
    const withCert = new HttpPools(5000, { ca: readFileSync(ca.cert), cert: readFileSync(peer.cert), key: readFileSync(peer.key) });
    const without = new HttpPools(5000, { ca: readFileSync(ca.cert) });
    cleanups.push(() => withCert.close(), () => without.close());
    expect((await withCert.request(origin, 'GET', '/healthz', {})).status).toBe(200);
    await expect(without.request(origin, 'GET', '/healthz', {})).rejects.toMatchObject({ code: 'NODE_UNAVAILABLE' });
    const scrape = await request(`${origin}/metrics`, {
      dispatcher: new Agent({ connect: { ca: readFileSync(ca.cert), cert: readFileSync(peer.cert), key: readFileSync(peer.key) } }),
    });
    const line = (await scrape.body.text()).split('\n').find((l) => l.startsWith('lmj_tls_handshake_failures_total{listener="router",reason="no_client_cert"} '));
    expect(line?.split(' ')[1]).toBe('1');
  });
});
