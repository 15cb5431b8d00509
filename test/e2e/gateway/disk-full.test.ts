/**
 * A full data disk, with the real daemon on a 20 MiB tmpfs and a real MQTT client
 * publishing QoS 1 until the acks stop: the daemon stays up, /healthz and /metrics say
 * why, no unacked message is stored, and once a filler file on the same tmpfs is
 * deleted, ingest resumes by itself and every acked message is stored exactly once.
 * SIGTERM while the disk is full exits 0 within the drain timeout. The same with the
 * write-ahead journal on (its append meets the full disk and pauses ingest).
 */
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { freePort } from '../../helpers/free-port.js';
import { startRouterProcess } from '../../helpers/router-process.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, tokensFile } from '../../integration/sync/helpers.js';
import { mountTmpfs } from '../../helpers/tmpfs.js';
import { allReadings, getJson, getText, waitFor } from './http-client.js';

const BLOB = 'x'.repeat(6000);

/** Publishes seq = from, from+1… in windows of 32 until a window is not fully acked; returns the acked seqs. */
async function publishUntilRefused(url: string, device: string, from: number, max: number): Promise<Set<number>> {
  const c = await mqtt.connectAsync(url, { clientId: `pub-${device}-${from}`, reconnectPeriod: 0, clean: true });
  c.on('error', () => {});
  onTestFinished(() => void c.end(true));
  const closed = new Promise<void>((res) => c.stream.once('close', () => res()));
  const acked = new Set<number>();
  let refused = false;
  void closed.then(() => (refused = true));
  for (let seq = from; seq < from + max && !refused; seq += 32) {
    const window = Array.from({ length: 32 }, (_, i) => seq + i).map((s) =>
      c.publishAsync(`devices/${device}/telemetry`, JSON.stringify({ seq: s, blob: BLOB }), { qos: 1 }).then(() => acked.add(s), () => undefined),
    );
    await Promise.race([Promise.all(window), closed]);
  }
  c.end(true);
  return acked;
}

async function health(d: DaemonProcess): Promise<{ status: number; body: any }> {
  return getJson(d.httpUrl, '/healthz');
}

/** Fills the tmpfs until acks stop, checks the paused state, frees space, checks the resume and exactly-once storage. */
async function fullThenResume(extraArgs: string[], env: Record<string, string> = {}, journal: 'on' | 'off' = 'off'): Promise<DaemonProcess> {
  const fs = mountTmpfs('20m');
  const filler = join(fs, 'filler');
  writeFileSync(filler, Buffer.alloc(6 * 1024 * 1024, 1));
  const d = await startDaemon({
    dataDir: join(fs, 'data'),
    // The journal's own ENOSPC behaviour (cut back, retry) is in test/integration/gateway/journal/disk-full.test.ts.
    args: ['--journal', journal, '--min-free-bytes', '0', ...extraArgs],
    env: { LMJ_EDGE_DISK_CHECK_MS: '50', ...env },
    timeoutMs: 60_000,
  });
  const first = await publishUntilRefused(d.mqttUrl!, 'full-1', 0, 100_000);
  expect(first.size).toBeGreaterThan(100);
  expect(d.proc.exitCode).toBeNull();
  await waitFor(async () => (await health(d)).status === 503, 10_000, 'healthz degraded');
  const h = await health(d);
  expect(h.body).toMatchObject({ status: 'degraded', reason: expect.stringMatching(/^disk (full|i\/o error)$/) });
  const metrics = await getText(d.httpUrl, '/metrics');
  expect(metrics).toMatch(/lmj_ingest_paused\{reason="disk (full|i\/o error)"\} 1/);
  expect(metrics).toMatch(/lmj_ingest_pauses_total 1/);
  expect(metrics).toMatch(/lmj_disk_free_bytes \d/);
  expect(d.stderr()).toMatch(/ingest paused: disk/);

  rmSync(filler);
  await waitFor(async () => (await health(d)).status === 200, 10_000, 'healthz ok after space returned');
  const second = await publishUntilRefused(d.mqttUrl!, 'full-1', 1_000_000, 64);
  expect(second.size).toBe(64);

  const stored = (await allReadings(d.httpUrl, 'full-1')).map((r) => r.values.seq as number);
  const acked = [...first, ...second];
  const counts = new Map<number, number>();
  for (const s of stored) counts.set(s, (counts.get(s) ?? 0) + 1);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  for (const s of acked) expect(counts.get(s)).toBe(1);
  // What was refused is not stored, except messages of the window the disk filled in
  // that committed but whose PUBACK the closed connection could not carry.
  expect(stored.length - acked.length).toBeLessThanOrEqual(32);
  return d;
}

describe('disk full', () => {
  it('stops acking, reports it, stores no unacked message, resumes when space returns', async () => {
    const d = await fullThenResume([]);
    expect(await d.kill('SIGTERM')).toBe(0);
  }, 180_000);

  it('with the journal: stops acking, reports it, resumes by itself, every acked message stored once', async () => {
    const d = await fullThenResume([], {}, 'on');
    expect(await d.kill('SIGTERM')).toBe(0);
  }, 180_000);

  it('with --upstream: the outbox state on the full disk survives, and the backlog drains to the router after', async () => {
    const port = await freePort();
    const routerDir = tmpDir();
    await startRouterProcess(join(routerDir, 'router'), port, tokensFile(routerDir));
    const d = await fullThenResume(['--upstream', `http://127.0.0.1:${port}`, '--gateway-id', 'gw-1'], { LMJ_EDGE_UPSTREAM_TOKEN: TOKEN });
    await waitFor(async () => (await getJson(d.httpUrl, '/sync/status')).body.backlog.readings === 0, 60_000, 'backlog synced');
    expect(await d.kill('SIGTERM')).toBe(0);
  }, 240_000);

  it('storage.minFreeBytes stops acking before the disk is full', async () => {
    const fs = mountTmpfs('20m');
    const d = await startDaemon({ dataDir: join(fs, 'data'), args: ['--journal', 'off', '--min-free-bytes', String(8 << 20)], env: { LMJ_EDGE_DISK_CHECK_MS: '50' }, timeoutMs: 60_000 });
    const acked = await publishUntilRefused(d.mqttUrl!, 'low-1', 0, 100_000);
    expect(acked.size).toBeGreaterThan(10);
    await waitFor(async () => (await health(d)).status === 503, 10_000, 'healthz degraded');
    expect((await health(d)).body).toMatchObject({ status: 'degraded', reason: 'low disk' });
    const s = statfsSync(fs);
    // Refused with room to spare: well above zero, about the threshold.
    expect(s.bavail * s.bsize).toBeGreaterThan(4 << 20);
    expect(await getText(d.httpUrl, '/metrics')).toMatch(/lmj_ingest_paused\{reason="low disk"\} 1/);
    expect(await d.kill('SIGTERM')).toBe(0);
  }, 180_000);

  it('SIGTERM while the disk is full exits 0 within the drain timeout', async () => {
    const fs = mountTmpfs('20m');
    const d = await startDaemon({ dataDir: join(fs, 'data'), args: ['--journal', 'off', '--min-free-bytes', '0'], env: { LMJ_EDGE_DISK_CHECK_MS: '50' }, timeoutMs: 60_000 });
    await publishUntilRefused(d.mqttUrl!, 'full-2', 0, 100_000);
    await waitFor(async () => (await health(d)).status === 503, 10_000, 'healthz degraded');
    const t0 = Date.now();
    expect(await d.kill('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 180_000);
});
