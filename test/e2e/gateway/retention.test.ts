/**
 * Retention in a real daemon process: a device with old readings (written before the
 * start) is expired and compacted by `lmj-edge retention run --http` while MQTT QoS 1
 * publishers keep sending to it and to another device. Every publish is acked and
 * stored, acks arrive while the run is in progress (another device's while the compaction's
 * temporary copy exists, seen by fs.watch), the old readings are gone, the
 * metrics count what happened, and the stopped instance is audit-clean and readable by
 * mdb_dump.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { COMPACT_TMP } from '../../../src/core/compact.js';
import { CLI, startDaemon } from '../../helpers/daemon.js';
import { writeReadings } from '../../helpers/telemetry-data.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { allReadings, getText } from './http-client.js';

const run = promisify(execFile);
const CODEC = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';
const OLD = 3000;

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('retention in the daemon', () => {
  it('expires and compacts a device while ingest to it keeps acking; nothing acked is lost', { timeout: 120_000 }, async () => {
    const dataDir = tmpDir();
    const longAgo = Date.now() - 30 * 86_400_000;
    await writeReadings(dataDir, 'old-1', Array.from({ length: OLD }, (_, i) => ({ payload: { seq: i, pad: 'o'.repeat(300) }, receivedAt: longAgo + i })));
    const sizeBefore = statSync(join(dataDir, 'devices', 'old-1', 'data.mdb')).size;
    const d = await startDaemon({ dataDir, args: ['--retention-max-age', String(7 * 86_400)], env: { LMJ_CODEC: CODEC } });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'retention', reconnectPeriod: 0 });
    onTestFinished(() => void c.end(true));

    // The compaction is in progress while its temporary copy exists: watched, not polled.
    const devDir = join(dataDir, 'devices', 'old-1');
    let compacting = false;
    let compactionsSeen = 0;
    let otherAcksDuringCompaction = 0;
    const watcher = watch(devDir, (_event, name) => {
      if (name !== COMPACT_TMP) return;
      const now = existsSync(join(devDir, COMPACT_TMP));
      if (now && !compacting) compactionsSeen++;
      compacting = now;
    });
    onTestFinished(() => watcher.close());
    let runInFlight = false;
    let acksDuringRun = 0;
    let stop = false;
    const acked: Record<string, number[]> = { 'old-1': [], 'live-2': [] };
    const publisher = async (device: string): Promise<void> => {
      for (let seq = 0; !stop || seq < 50; seq++) {
        await c.publishAsync(`devices/${device}/telemetry`, JSON.stringify({ seq, live: true }), { qos: 1 });
        acked[device]!.push(seq);
        if (runInFlight) acksDuringRun++;
        if (compacting && device === 'live-2') otherAcksDuringCompaction++;
      }
    };
    const pubs = [publisher('old-1'), publisher('live-2')];
    runInFlight = true;
    const { stdout } = await run(process.execPath, [CLI, 'retention', 'run', '--http', d.httpUrl]);
    runInFlight = false;
    stop = true;
    await Promise.all(pubs);
    const result = JSON.parse(stdout) as { devices: { deviceId: string; expired: number; compacted: boolean; bytesAfter: number }[] };
    const old = result.devices.find((x) => x.deviceId === 'old-1');
    expect(old?.expired).toBe(OLD);
    expect(old?.compacted).toBe(true);
    expect(acksDuringRun).toBeGreaterThan(0);
    // Another device's publishes were acked while the compacted one's writes queued for the swap.
    expect(compactionsSeen).toBe(1);
    expect(otherAcksDuringCompaction).toBeGreaterThan(0);

    const metrics = await getText(d.httpUrl, '/metrics');
    expect(sample(metrics, 'lmj_retention_readings_expired_total')).toBe(OLD);
    expect(sample(metrics, 'lmj_retention_bytes_reclaimed_total')).toBeGreaterThan(0);
    expect(sample(metrics, 'lmj_retention_unsynced_dropped_total')).toBe(0);
    expect(sample(metrics, 'lmj_retention_last_run_timestamp_seconds')).toBeGreaterThan(0);

    for (const device of ['old-1', 'live-2']) {
      const stored = await allReadings(d.httpUrl, device);
      expect(stored.map((r) => r.values.seq)).toEqual(acked[device]);
      expect(stored.every((r) => r.values.live === true)).toBe(true);
    }
    await c.endAsync();
    expect(await d.kill('SIGTERM')).toBe(0);

    const dir = join(dataDir, 'devices', 'old-1');
    expect(statSync(join(dir, 'data.mdb')).size).toBeLessThan(sizeBefore);
    const audit = await run(process.execPath, [CLI, 'audit', 'old-1', '--data', dataDir]);
    expect(JSON.parse(audit.stdout).ghosts).toEqual([]);
    const dump = await run('mdb_dump', ['-s', 'main', dir], { maxBuffer: 64 * 1024 * 1024 });
    expect(dump.stdout.trimEnd().endsWith('DATA=END')).toBe(true);
  });
});
