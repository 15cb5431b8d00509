/**
 * A short daemon smoke run, cheap enough for the arm64 leg under qemu
 * (scripts/test-arm64.sh runs it there with the arm64 Node and addon): start the
 * compiled daemon, publish JSON and CBOR at QoS 1, read both back over HTTP,
 * SIGKILL, restart on the same data, read again. Waits only on events.
 */
import { encode as cborEncode } from 'cbor-x';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getJson } from './http-client.js';

/** The codec of this test leg (LMJ_CODEC=portable runs the daemon on the portable codec). */
const CODEC = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';
/** Upper bounds only (nothing waits for them): under qemu a daemon start takes ~10x longer. */
const START_MS = 300_000;

describe('daemon smoke run', () => {
  it('JSON and CBOR at QoS 1 are readable over HTTP, and still are after SIGKILL and restart', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data, timeoutMs: START_MS, env: { LMJ_CODEC: CODEC } });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'smoke', reconnectPeriod: 0 });
    c.on('error', () => {});
    for (let seq = 0; seq < 10; seq++) {
      await c.publishAsync('devices/smoke-j/telemetry', JSON.stringify({ env: { temp: 20 + seq / 2 }, seq }), { qos: 1 });
      await c.publishAsync('devices/smoke-c/telemetry', cborEncode({ volt: 3.25, seq, tags: ['a', 'b'] }), { qos: 1 });
    }
    // PUBACK came after the durable commit: readable right away.
    const expectStored = async (httpUrl: string): Promise<void> => {
      expect((await allReadings(httpUrl, 'smoke-j')).map((r) => r.values)).toEqual(
        Array.from({ length: 10 }, (_, seq) => ({ 'env.temp': 20 + seq / 2, seq })),
      );
      expect((await allReadings(httpUrl, 'smoke-c')).map((r) => r.values)).toEqual(
        Array.from({ length: 10 }, (_, seq) => ({ volt: 3.25, seq, 'tags[0]': 'a', 'tags[1]': 'b' })),
      );
      expect((await getJson(httpUrl, '/healthz')).body).toMatchObject({ status: 'ok', codec: CODEC });
    };
    await expectStored(d.httpUrl);
    expect(await d.kill('SIGKILL')).toBe('SIGKILL');
    c.end(true);
    const again = await startDaemon({ dataDir: data, timeoutMs: START_MS, env: { LMJ_CODEC: CODEC } });
    try {
      await expectStored(again.httpUrl);
    } finally {
      await again.kill('SIGKILL');
    }
  }, 2 * START_MS + 120_000);
});
