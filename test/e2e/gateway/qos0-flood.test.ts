/**
 * The daemon under an unthrottled QoS 0 flood (raw publishers, bench/lib/qos0-flood.ts),
 * in both modes. Proved here: the in-flight count /healthz reports stays within the
 * flow-control bound, /healthz answers all through the flood, readings are stored, and
 * SIGTERM right after the flood exits 0 (it drains only the bounded window).
 *
 * External (→ real mosquitto → daemon): the broker's Receive Maximum bounds only QoS 1,
 * so the daemon stops reading its broker connection at `mqtt.maxInFlight` messages in
 * flight (the pause counter moves), and its anonymous RSS (sampled from /proc while the
 * flood runs; the daemon has its default heap limit) stays under 200 MB: without the
 * pause it grew by ~100 MB per second of flood. Embedded: a client's next socket read waits for the
 * results of its last one, so each connection has one read in flight and nothing is shed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { qos0Flood } from '../../../bench/lib/qos0-flood.js';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { getText } from './http-client.js';

const CLIENTS = 6;
/** The flood's PUBLISHes are > 90 bytes each. */
const PACKETS_PER_KIB = 1024 / 90;
/** One socket read of ours: ≤ 64 KiB. */
const ONE_READ = Math.ceil(64 * PACKETS_PER_KIB);
/** What aedes takes per read: the stream's buffer (16 KiB high-water mark) plus one 64 KiB chunk. */
const AEDES_READ = Math.ceil((16 + 64) * PACKETS_PER_KIB);

const STORED = 'lmj_messages_results_total{status="stored"}';

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/** The daemon's anonymous RSS, MB (heap and native memory; file-backed map pages excluded). */
function rssAnonMb(pid: number): number {
  const kb = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  expect(kb).toBeDefined();
  return Number(kb) / 1024;
}

/**
 * Floods `port` for 3 s while polling /healthz back to back and sampling the daemon's
 * anonymous RSS every 100 ms; returns every `inFlight` seen, the RSS samples and the metrics after.
 */
async function floodWatching(d: DaemonProcess, port: number): Promise<{ published: number; seen: number[]; rss: number[]; metrics: string }> {
  let flooding = true;
  const seen: number[] = [];
  const rss: number[] = [rssAnonMb(d.proc.pid!)];
  const sampler = setInterval(() => rss.push(rssAnonMb(d.proc.pid!)), 100);
  const poll = (async () => {
    while (flooding) {
      // No answer within 10 s rejects the poll, and the test with it.
      const res = await fetch(`${d.httpUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
      seen.push(((await res.json()) as { inFlight: number }).inFlight);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const flood = await qos0Flood({ port, clients: CLIENTS, durationMs: 3000 });
  flooding = false;
  clearInterval(sampler);
  rss.push(rssAnonMb(d.proc.pid!));
  await poll;
  // Accepted messages are applied from the journal after their acks: wait for the first
  // stored ones (however little CPU the daemon had during the flood), not for the whole
  // backlog, which the drain and the next start cover.
  const deadline = Date.now() + 30_000;
  let metrics = await getText(d.httpUrl, '/metrics');
  while (!(metric(metrics, STORED) > 0) && Date.now() < deadline) {
    await new Promise<void>((r) => setTimeout(r, 100));
    metrics = await getText(d.httpUrl, '/metrics');
  }
  return { published: flood.published, seen, rss, metrics };
}

/** SIGTERM must exit 0 within 30 s: the drain covers the bounded window, not everything sent. */
async function expectQuickExit(d: DaemonProcess): Promise<void> {
  const exit = await Promise.race([d.kill('SIGTERM'), new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000))]);
  expect(exit).toBe(0);
}

describe('the daemon under a QoS 0 flood', () => {
  it('external: pauses its broker connection at the in-flight bound; RSS stays bounded; /healthz answers; SIGTERM exits 0', async () => {
    const bound = 2000;
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mq'));
    onTestFinished(() => mq.stop());
    const d = await startDaemon({ dataDir: join(dir, 'data'), broker: mq.url, env: { LMJ_EDGE_MQTT_MAX_IN_FLIGHT: String(bound) } });
    const { published, seen, rss, metrics } = await floodWatching(d, mq.port);
    expect(published).toBeGreaterThan(bound * 5);
    expect(rss.length).toBeGreaterThan(2);
    expect(Math.max(...rss)).toBeLessThan(200);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(bound + ONE_READ);
    expect(metric(metrics, 'lmj_mqtt_read_pauses_total{transport="external"}')).toBeGreaterThan(0);
    expect(metric(metrics, STORED)).toBeGreaterThan(0);
    await expectQuickExit(d);
  }, 60_000);

  it('embedded: one socket read in flight per client, nothing shed; /healthz answers; SIGTERM exits 0', async () => {
    const dir = tmpDir();
    // The default window (20,000) is far above what one read per client can hold.
    const d = await startDaemon({ dataDir: join(dir, 'data') });
    const { published, seen, metrics } = await floodWatching(d, d.mqttPort!);
    expect(published).toBeGreaterThan(CLIENTS * AEDES_READ * 2);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(CLIENTS * AEDES_READ);
    // Before, the flood was parsed as fast as it came and shed beyond the window.
    expect(metrics).not.toMatch(/lmj_messages_shed_total\{reason="overloaded"\}/);
    expect(metric(metrics, STORED)).toBeGreaterThan(0);
    await expectQuickExit(d);
  }, 60_000);
});
