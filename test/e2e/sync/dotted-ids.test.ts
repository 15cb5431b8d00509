/**
 * Dotted device ids end to end (real processes, mqtt.js publishes at QoS 1): a reading
 * sent to `devices/sensor.2/telemetry` (and `a.b`, `v1.2.3`, `x.mdb`) is readable at
 * `/devices/<id>/latest` on the gateway and, after sync, on the router; each id is one
 * instance directory and nothing else lands beside it; ids the rules refuse (`..`,
 * `a..b`, `.hidden-not-allowed`) are dead-lettered with BAD_DEVICE_ID and create nothing. Requires `npm run build`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { freePort } from '../../helpers/free-port.js';
import { startRouterProcess } from '../../helpers/router-process.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, getJson, tokensFile } from '../../integration/sync/helpers.js';

const DOTTED = ['sensor.2', 'a.b', 'v1.2.3', 'x.mdb'];
const REFUSED = ['..', 'a..b', '.hidden-not-allowed'];

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every entry of `dir`, each asserted to be a directory. */
function instanceDirs(dir: string): string[] {
  const names = readdirSync(dir).sort();
  for (const n of names) expect(statSync(join(dir, n)).isDirectory(), `${dir}/${n}`).toBe(true);
  return names;
}

describe('dotted device ids, gateway and router', () => {
  it('stores, serves and syncs sensor.2, a.b, v1.2.3 and x.mdb; refuses .., a..b and .hidden-not-allowed', async () => {
    const dir = tmpDir('lmj-e2e-dotted-');
    const routerPort = await freePort();
    const router = await startRouterProcess(join(dir, 'router'), routerPort, tokensFile(dir));
    const gw = await startDaemon({
      dataDir: join(dir, 'gw'),
      args: ['--upstream', `http://127.0.0.1:${routerPort}`, '--gateway-id', 'gw-1', '--durability', 'fast'],
      env: { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN },
    });

    const client = await mqtt.connectAsync(gw.mqttUrl!, { clientId: 'dotted', reconnectPeriod: 0 });
    try {
      for (const [i, id] of DOTTED.entries()) await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: i, temp: 20.5 + i }), { qos: 1 });
      for (const id of REFUSED) await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 9 }), { qos: 1 });
    } finally {
      await client.endAsync();
    }

    for (const [i, id] of DOTTED.entries()) {
      const local = await getJson(gw.httpUrl, `/devices/${id}/latest`);
      expect(local.status, id).toBe(200);
      expect(local.json).toMatchObject({ id, values: { seq: i, temp: 20.5 + i } });
    }
    const dead = (await getJson(gw.httpUrl, '/deadletters')).json as { deadLetters: { code: string; topic: string }[] };
    expect(dead.deadLetters.map((d) => d.topic).sort()).toEqual(REFUSED.map((id) => `devices/${id}/telemetry`).sort());
    expect(new Set(dead.deadLetters.map((d) => d.code))).toEqual(new Set(['BAD_DEVICE_ID']));

    await waitFor('synced', async () => ((await getJson(gw.httpUrl, '/sync/status')).json as { backlog: { readings: number } }).backlog.readings === 0);
    for (const [i, id] of DOTTED.entries()) {
      const up = await getJson(router.url, `/devices/${id}/latest`);
      expect(up.status, id).toBe(200);
      expect(up.json).toMatchObject({ id, values: { seq: i, temp: 20.5 + i } });
    }
    const listed = (await getJson(router.url, '/devices')).json as { devices: { id: string }[] };
    expect(listed.devices.map((d) => d.id).sort()).toEqual([...DOTTED].sort());

    await gw.kill('SIGTERM');
    await router.kill('SIGTERM');
    // One directory per id and nothing beside it (no `x.mdb-lock`, no stray files).
    expect(instanceDirs(join(dir, 'gw', 'devices'))).toEqual([...DOTTED].sort());
    const onNodes = readdirSync(join(dir, 'router', 'nodes')).flatMap((node) => instanceDirs(join(dir, 'router', 'nodes', node, 'devices')));
    expect(onNodes.sort()).toEqual([...DOTTED].sort());
  }, 60_000);
});
