/**
 * Real processes end to end: `lmj-edge router` and `lmj-edge start --upstream …`,
 * readings published over MQTT (mqtt.js, QoS 1). The router is SIGKILLed while the
 * gateway uploads and stays down for a while, the gateway is SIGKILLed with a backlog;
 * after restarts every acknowledged reading is on the router exactly once, in order,
 * byte for byte. Requires `npm run build`.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { freePort } from '../../helpers/free-port.js';
import { startRouterProcess } from '../../helpers/router-process.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, getJson, recordsAt, sameRecords, tokensFile } from '../../integration/sync/helpers.js';

const procs: { kill(): Promise<unknown> }[] = [];

async function startRouterProc(dataDir: string, port: number, tokens: string): ReturnType<typeof startRouterProcess> {
  const r = await startRouterProcess(dataDir, port, tokens);
  procs.push(r);
  return r;
}
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
});

async function startGateway(dataDir: string, routerPort: number): Promise<DaemonProcess> {
  const d = await startDaemon({
    dataDir,
    args: ['--upstream', `http://127.0.0.1:${routerPort}`, '--gateway-id', 'gw-1', '--durability', 'fast'],
    env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
  });
  procs.push(d);
  return d;
}

const DEVICES = ['e2e-a', 'e2e-b', 'e2e-c'];

/** Publishes seq from..from+n-1 per device (QoS 1, in order per device); returns once every PUBACK is in. */
async function publish(url: string, from: number, n: number): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `pub-${from}`, reconnectPeriod: 0 });
  try {
    await Promise.all(
      DEVICES.map(async (id) => {
        for (let i = from; i < from + n; i++) await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: i, temp: 20 + (i % 7) / 4 }), { qos: 1 });
      }),
    );
  } finally {
    await client.endAsync();
  }
}

async function syncStatus(gw: DaemonProcess): Promise<{ backlog: { readings: number }; counters: { readingsSynced: number } }> {
  return (await getJson(gw.httpUrl, '/sync/status')).json;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function routerSeqs(url: string, id: string): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`;
    const page = (await getJson(url, `/devices/${id}/readings?limit=1000${q}`)).json as { readings: { values: { seq: number } }[]; next: string | null };
    out.push(...page.readings.map((r) => r.values.seq));
    cursor = page.next;
  } while (cursor !== null);
  return out;
}

describe('gateway → router, real processes', () => {
  it('loses nothing and duplicates nothing across a router outage and SIGKILLs of router and gateway', async () => {
    const dir = tmpDir('lmj-e2e-sync-');
    const tokens = tokensFile(dir);
    const routerPort = await freePort();
    let router = await startRouterProc(join(dir, 'router'), routerPort, tokens);
    let gw = await startGateway(join(dir, 'gw'), routerPort);

    await publish(gw.mqttUrl!, 0, 40);
    // Router SIGKILLed while the gateway is uploading (some synced, maybe a batch mid-apply).
    await waitFor('upload under way', async () => (await syncStatus(gw)).counters.readingsSynced > 0);
    await router.kill('SIGKILL');
    // Router down for a while: ingest goes on, the backlog grows.
    await publish(gw.mqttUrl!, 40, 40);
    await waitFor('backlog while the router is down', async () => (await syncStatus(gw)).backlog.readings > 0);
    // Gateway SIGKILLed with a backlog; restarted, it must resume from its cursors.
    await gw.kill('SIGKILL');
    gw = await startGateway(join(dir, 'gw'), routerPort);
    await publish(gw.mqttUrl!, 80, 30);
    router = await startRouterProc(join(dir, 'router'), routerPort, tokens);
    // Gateway SIGKILLed again while it drains to the router.
    await waitFor('draining', async () => (await syncStatus(gw)).counters.readingsSynced > 0);
    await gw.kill('SIGKILL');
    gw = await startGateway(join(dir, 'gw'), routerPort);
    await publish(gw.mqttUrl!, 110, 20);
    await waitFor('everything synced', async () => (await syncStatus(gw)).backlog.readings === 0 && (await routerSeqs(router.url, DEVICES[0]!)).length >= 130);

    const expected = Array.from({ length: 130 }, (_, i) => i);
    for (const id of DEVICES) expect(await routerSeqs(router.url, id), id).toEqual(expected);
    const loc = (await getJson(router.url, `/devices/${DEVICES[0]}/location`)).json;
    expect(loc.gateway).toBe('gw-1');

    // Byte for byte: stop both, read both instances directly.
    await gw.kill('SIGTERM');
    await router.kill('SIGTERM');
    const table = (await import('node:fs')).readFileSync(join(dir, 'router', 'router', 'routing.json'), 'utf8');
    const ranges = (JSON.parse(table) as { ranges: { from: number; to: number; node: string }[] }).ranges;
    for (const id of DEVICES) {
      const p = getCodec().partitionOf(id);
      const node = ranges.find((r) => r.from <= p && p <= r.to)!.node;
      const upstream = await recordsAt(join(dir, 'router', 'nodes', node, 'devices', id));
      const local = await recordsAt(join(dir, 'gw', 'devices', id));
      expect(local).toHaveLength(130);
      expect(sameRecords(upstream, local), id).toBeUndefined();
    }
    // Five process starts on a loaded 2-core CI machine: more than the default 30 s budget.
  }, 120_000);
});
