/**
 * A cluster over TLS on a real etcd, router and node in this process (as `lmj-edge node
 * --tls-cert --tls-key --tls-ca` and `lmj-edge router --etcd --tls-cert --tls-key
 * --upstream-ca` build them, src/cli/tls-flags.ts): the node serves only clients with a
 * certificate from the CA; the router serves HTTPS to gateways and reaches the node over
 * https with its own certificate. A gateway's uplink with `--upstream-ca` syncs through
 * both hops, reads come back through the router, and the node refuses a client without
 * a certificate (counted).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, initTable } from '../../../src/cluster/index.js';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { startSync, type SyncService } from '../../../src/sync/index.js';
import { makeCa, type CertFiles, type TestCa } from '../../helpers/certs.js';
import { httpsOptionsOf, peerTlsOf } from '../../../src/cli/tls-flags.js';
import { startClusterRouter, type ClusterRouter } from '../../../src/router/cluster/cluster-router.js';
import { startDataNode, type DataNode } from '../../../src/router/node/data-node.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';
import { TOKEN, ingestor, publish, silent, tokensFile } from '../sync/helpers.js';

let etcd: EtcdCluster;
let dir: string;
let ca: TestCa;
let routerCert: CertFiles;
let node: DataNode;
let router: ClusterRouter;
let nodePort: number;
let routerPort: number;
let ing: Ingestor;
let sync: SyncService | undefined;

beforeAll(async () => {
  etcd = await startEtcd(1);
  const client = connectEtcd(etcd.urls);
  await initTable(client, 256);
  client.close();
  dir = mkdtempSync(join(tmpdir(), 'lmj-e2e-cluster-tls-'));
  ca = makeCa(dir);
  // The router's certificate is also its client certificate towards the node.
  routerCert = ca.server('router', 2, { clientAuth: true });
  const nodeCert = ca.server('node');
  const nodeHttps = httpsOptionsOf({ tlsCert: nodeCert.cert, tlsKey: nodeCert.key, tlsCa: ca.cert }, 'node', silent);
  expect(nodeHttps?.clientCerts).toBe('require');
  node = await startDataNode({ etcd: etcd.urls, nodeId: 'node-t', dataDir: join(dir, 'node'), httpPort: 0, ttlSeconds: 3, durability: 'fast', https: nodeHttps, log: silent });
  nodePort = node.http.port;
  const routerFlags = { tlsCert: routerCert.cert, tlsKey: routerCert.key, upstreamCa: ca.cert };
  const routerHttps = httpsOptionsOf(routerFlags, 'router', silent);
  router = await startClusterRouter({
    etcd: etcd.urls,
    httpPort: 0,
    tokensFile: tokensFile(join(dir, 'tokens')),
    https: routerHttps,
    peerTls: peerTlsOf(routerFlags, routerHttps),
    log: silent,
  });
  routerPort = router.http.port;
}, 120_000);

afterAll(async () => {
  sync?.releaseGate();
  await sync?.close();
  await ing?.close();
  await router?.stop();
  await node?.stop();
  await etcd?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const trusting = (): Agent => new Agent({ connect: { ca: readFileSync(ca.cert) } });

describe('cluster over TLS', () => {
  it('syncs a gateway through the HTTPS router to the node over mutual TLS, and reads back through the router', async () => {
    const gwDir = join(dir, 'gw');
    ing = await ingestor(gwDir, { result: (r) => r.status === 'stored' && sync?.onStored(r.deviceId, r.ts) });
    const s = startSync(
      { dataDir: gwDir, durable: false, devices: ing },
      { upstream: `https://127.0.0.1:${routerPort}`, token: TOKEN, gatewayId: 'gw-1', backoffMs: 50, maxBackoffMs: 300, batchDelayMs: 5, upstreamCa: ca.cert },
    );
    sync = s;
    await publish(ing, 'tls-node-1', 0, 12);
    const until = Date.now() + 60_000;
    while (!(s.status().counters.readingsSynced === 12 && s.status().backlog.readings === 0)) {
      if (Date.now() > until) throw new Error(`not synced: ${JSON.stringify(s.status())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(s.status().counters.tlsFailures).toBe(0);
    const res = await request(`https://127.0.0.1:${routerPort}/devices/tls-node-1/latest`, { dispatcher: trusting() });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ id: 'tls-node-1', values: { seq: 11 } });
  });

  it('the node refuses a client without a certificate and counts it', async () => {
    await expect(request(`https://127.0.0.1:${nodePort}/healthz`, { dispatcher: trusting() })).rejects.toMatchObject({ code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) });
    const peer = ca.client('ops');
    const withCert = new Agent({ connect: { ca: readFileSync(ca.cert), cert: readFileSync(peer.cert), key: readFileSync(peer.key) } });
    const text = await (await request(`https://127.0.0.1:${nodePort}/metrics`, { dispatcher: withCert })).body.text();
    const line = text.split('\n').find((l) => l.startsWith('lmj_tls_handshake_failures_total{listener="node",reason="no_client_cert"} '));
    expect(line?.split(' ')[1]).toBe('1');
  });
});
