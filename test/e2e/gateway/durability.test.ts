/**
 * Durability: a publisher fleet at full speed, the daemon SIGKILLed mid-stream and
 * restarted on the same data. Every PUBACKed message must be stored exactly once;
 * unacked messages may be lost (embedded) — the count is printed.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { startFleet } from './fleet.js';
import { allReadings, getJson, waitFor } from './http-client.js';

const CLIENTS = 4;
/** Two daemon starts, a fleet run and a full read-back: generous on a loaded 2-core CI box. */
const TIMEOUT = 120_000;
const DEVICES_PER_CLIENT = 5;

/** Stored (device:seq) → count, over every device of the fleet. */
async function storedCounts(httpUrl: string, prefix: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let c = 0; c < CLIENTS; c++) {
    for (let i = 0; i < DEVICES_PER_CLIENT; i++) {
      const device = `${prefix}-${c}-${i}`;
      for (const r of await allReadings(httpUrl, device)) {
        const key = `${device}:${r.values.seq as number}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  return counts;
}

async function totalReadings(httpUrl: string): Promise<number> {
  const { body } = await getJson(httpUrl, '/devices?limit=1000');
  return body.devices.reduce((n: number, d: { readings: number }) => n + d.readings, 0);
}

describe('durability under SIGKILL', () => {
  it('embedded: every PUBACKed message survives, exactly once', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data });
    const fleet = startFleet(d.mqttUrl!, { clients: CLIENTS, devicesPerClient: DEVICES_PER_CLIENT, window: 64, perDevice: 100_000, prefix: 'em' });
    await waitFor(() => fleet.record.acked.size >= 1200, 20_000, '1200 acks');
    await d.kill('SIGKILL');
    const acked = new Set(fleet.record.acked);
    fleet.stop();
    const again = await startDaemon({ dataDir: data });
    try {
      const counts = await storedCounts(again.httpUrl, 'em');
      const missing = [...acked].filter((k) => !counts.has(k));
      const duplicated = [...counts].filter(([, n]) => n > 1);
      console.log(
        `embedded SIGKILL: sent ${fleet.record.sent}, acked ${acked.size}, stored ${counts.size}, ` +
          `missing ${missing.length}, duplicated ${duplicated.length}, unacked lost ${fleet.record.sent - counts.size}`,
      );
      expect(missing).toEqual([]);
      expect(duplicated).toEqual([]);
    } finally {
      await again.kill('SIGKILL');
    }
  }, TIMEOUT);

  it('external (mosquitto): every message mosquitto PUBACKed is stored exactly once after restart', async () => {
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mosquitto'));
    const data = join(dir, 'data');
    const d = await startDaemon({ dataDir: data, broker: mq.url });
    const perDevice = 100;
    const fleet = startFleet(mq.url, { clients: CLIENTS, devicesPerClient: DEVICES_PER_CLIENT, window: 64, perDevice, prefix: 'ex' });
    try {
      await waitFor(async () => (await totalReadings(d.httpUrl)) >= 400, 20_000, '400 stored');
      await d.kill('SIGKILL');
      // Publishing goes on while the gateway is down: mosquitto queues for its session.
      const all = CLIENTS * DEVICES_PER_CLIENT * perDevice;
      await waitFor(() => fleet.record.acked.size === all, 30_000, 'all publishes acked by mosquitto');
      const again = await startDaemon({ dataDir: data, broker: mq.url });
      try {
        await waitFor(async () => (await totalReadings(again.httpUrl)) >= all, 30_000, `${all} stored`);
        const counts = await storedCounts(again.httpUrl, 'ex');
        const missing = [...fleet.record.acked].filter((k) => !counts.has(k));
        const duplicated = [...counts].filter(([, n]) => n > 1);
        console.log(
          `external SIGKILL: acked by mosquitto ${fleet.record.acked.size}, stored ${counts.size}, ` +
            `missing ${missing.length}, duplicated ${duplicated.length}`,
        );
        expect(missing).toEqual([]);
        expect(duplicated).toEqual([]);
        expect(counts.size).toBe(all);
      } finally {
        await again.kill('SIGKILL');
      }
    } finally {
      fleet.stop();
      await d.kill('SIGKILL');
      await mq.stop();
    }
  }, TIMEOUT);
});
