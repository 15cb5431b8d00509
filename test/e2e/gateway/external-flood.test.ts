/**
 * External mode under an unthrottled QoS 0 flood (raw publishers → real mosquitto →
 * the real daemon). The broker's Receive Maximum bounds only QoS 1, so the daemon
 * bounds QoS 0 itself: it stops reading its broker connection at `mqtt.maxInFlight`
 * messages in flight. Proved here: the in-flight count /healthz reports never goes
 * past the bound plus one socket read, the pause counter moved, /healthz answers all
 * through the flood, readings are stored, and SIGTERM right after the flood exits 0
 * (it drains only the bounded window, not everything the broker pushed).
 */
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { qos0Flood } from '../../../bench/lib/qos0-flood.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { getText } from './http-client.js';

const BOUND = 2000;
/** One socket read is at most 64 KiB; the flood's PUBLISHes are > 90 bytes each. */
const ONE_READ = Math.ceil((64 * 1024) / 90);

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

describe('external mode under a QoS 0 flood', () => {
  it('pauses its broker connection at the in-flight bound; /healthz answers; SIGTERM exits 0', async () => {
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mq'));
    onTestFinished(() => mq.stop());
    const d = await startDaemon({ dataDir: join(dir, 'data'), broker: mq.url, env: { LMJ_EDGE_MQTT_MAX_IN_FLIGHT: String(BOUND) } });

    let flooding = true;
    const seen: number[] = [];
    let unanswered = 0;
    const poll = (async () => {
      while (flooding) {
        try {
          const res = await fetch(`${d.httpUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
          seen.push(((await res.json()) as { inFlight: number }).inFlight);
        } catch (err) {
          expect((err as Error).name).toBe('TimeoutError');
          unanswered++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const flood = await qos0Flood({ port: mq.port, clients: 6, durationMs: 3000 });
    flooding = false;
    await poll;

    const metrics = await getText(d.httpUrl, '/metrics');
    expect(flood.published).toBeGreaterThan(BOUND * 5);
    expect(seen.length).toBeGreaterThan(0);
    expect(unanswered).toBe(0);
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(BOUND + ONE_READ);
    expect(metric(metrics, 'lmj_mqtt_read_pauses_total{transport="external"}')).toBeGreaterThan(0);
    expect(metric(metrics, 'lmj_messages_results_total{status="stored"}')).toBeGreaterThan(0);

    // The drain covers the bounded window only; before, it had everything the broker had pushed.
    const exit = await Promise.race([d.kill('SIGTERM'), new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000))]);
    expect(exit).toBe(0);
  }, 60_000);
});
