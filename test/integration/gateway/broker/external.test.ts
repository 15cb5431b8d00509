/** The external-broker subscriber against a real mosquitto, with a real ingest pipeline. */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { startExternalSubscriber, type ExternalSubscriber } from '../../../../src/gateway/broker/external.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import type { Ingestor } from '../../../../src/gateway/ingest/types.js';
import { createLogger } from '../../../../src/http/logger.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { startMosquitto } from '../../../helpers/mosquitto.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

function subscriber(url: string, ingestor: Ingestor, metrics: GatewayMetrics, connections = 1): ExternalSubscriber {
  return startExternalSubscriber({
    url,
    clientId: 'lmj-test',
    connections,
    shareGroup: 'lmj-test',
    filters: ingestor.topics.filters,
    ingestor,
    metrics,
    log: createLogger('silent'),
    maxInFlight: 1000,
    maxPacketBytes: 256 * 1024,
  });
}

async function waitStored(ingestor: Ingestor, n: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (ingestor.stats().stored < n) {
    if (Date.now() > deadline) throw new Error(`only ${ingestor.stats().stored} of ${n} stored`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('external broker subscriber', () => {
  it('pipelines: many messages per commit, all acked, none lost', async () => {
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mq'));
    onTestFinished(() => mq.stop());
    const metrics = new GatewayMetrics(getCodec().kind);
    const ingestor = await createIngestor({ dataDir: join(dir, 'data'), hooks: metrics.ingestHooks() });
    onTestFinished(() => ingestor.close());
    const sub = subscriber(mq.url, ingestor, metrics);
    onTestFinished(() => sub.close());
    await sub.ready;
    const pub = await mqtt.connectAsync(mq.url, { clientId: 'p1' });
    onTestFinished(() => void pub.end(true));
    await Promise.all(Array.from({ length: 600 }, (_, i) => pub.publishAsync(`devices/e-${i % 6}/telemetry`, JSON.stringify({ i }), { qos: 1 })));
    await waitStored(ingestor, 600);
    await ingestor.flush();
    const text = await metrics.registry.getSingleMetricAsString('lmj_commit_batch_messages');
    const commits = Number(/lmj_commit_batch_messages_count (\d+)/.exec(text)?.[1]);
    expect(commits).toBeLessThan(600);
    // PUBACKs are written right after each commit resolves; give the event loop a moment.
    const deadline = Date.now() + 5000;
    let acked = '';
    while (Date.now() < deadline) {
      acked = await metrics.registry.getSingleMetricAsString('lmj_messages_acked_total');
      if (acked.includes('{transport="external"} 600')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(acked).toContain('lmj_messages_acked_total{transport="external"} 600');
  });

  it('keeps its session: messages published while it is down arrive after it returns, once', async () => {
    const dir = tmpDir();
    const mq = await startMosquitto(join(dir, 'mq'));
    onTestFinished(() => mq.stop());
    const metrics = new GatewayMetrics(getCodec().kind);
    const ingestor = await createIngestor({ dataDir: join(dir, 'data'), hooks: metrics.ingestHooks() });
    onTestFinished(() => ingestor.close());
    const first = subscriber(mq.url, ingestor, metrics, 2);
    await first.ready;
    const pub = await mqtt.connectAsync(mq.url, { clientId: 'p2' });
    onTestFinished(() => void pub.end(true));
    for (let i = 0; i < 50; i++) await pub.publishAsync(`devices/k-${i % 5}/telemetry`, JSON.stringify({ i }), { qos: 1 });
    await waitStored(ingestor, 50);
    await first.close();
    // Down: mosquitto queues for the two persistent sessions.
    for (let i = 50; i < 150; i++) await pub.publishAsync(`devices/k-${i % 5}/telemetry`, JSON.stringify({ i }), { qos: 1 });
    const second = subscriber(mq.url, ingestor, metrics, 2);
    onTestFinished(() => second.close());
    await second.ready;
    await waitStored(ingestor, 150);
    const seen: number[] = [];
    for (let d = 0; d < 5; d++) {
      for (const r of (await ingestor.readings(`k-${d}`, { limit: 1000 })).readings) seen.push(r.values.i as number);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });
});
