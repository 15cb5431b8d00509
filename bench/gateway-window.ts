/**
 * Per-client throughput of the embedded broker with acks after commit: one MQTT
 * connection publishing QoS 1 with a window of 1, 16 and 256 unacknowledged
 * messages (durability safe, 10 devices). With ack-after-commit a client gets at
 * best window / commit latency; this shows the broker adds no per-message barrier.
 *
 * Run: npm run build:ts && node dist/bench/gateway-window.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { getCodec } from '../src/codec/index.js';
import { startEmbeddedBroker } from '../src/gateway/broker/embedded.js';
import { createIngestor } from '../src/gateway/ingest/index.js';
import { createLogger } from '../src/http/logger.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { printRateTable, repeat, type RateRow } from './lib/report.js';

const RUN_MS = 1500;

/** Acked messages per second for one connection keeping `window` QoS 1 messages in flight. */
async function oneClient(url: string, window: number): Promise<number> {
  const c = await mqtt.connectAsync(url, { clientId: `bench-${window}-${Math.random().toString(36).slice(2)}` });
  // A fresh nonce per run keeps payloads unique, so the dedupe never short-cuts a commit.
  const nonce = Math.random();
  let acked = 0;
  let next = 0;
  let stop = false;
  await new Promise<void>((resolve) => {
    let inflight = 0;
    const pump = (): void => {
      while (!stop && inflight < window) {
        inflight++;
        const i = next++;
        c.publish(`devices/b-${i % 10}/telemetry`, JSON.stringify({ i, nonce, t: 21.5, h: 40 }), { qos: 1 }, () => {
          inflight--;
          acked++;
          if (stop && inflight === 0) resolve();
          else pump();
        });
      }
    };
    pump();
    setTimeout(() => (stop = true), RUN_MS);
  });
  await c.endAsync();
  return acked / (RUN_MS / 1000);
}

const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-window-'));
const metrics = new GatewayMetrics(getCodec().kind);
const ingestor = await createIngestor({ dataDir: dir, hooks: metrics.ingestHooks() });
const broker = await startEmbeddedBroker({
  host: '127.0.0.1',
  port: 0,
  ingestor,
  metrics,
  log: createLogger('silent'),
  maxConnections: 100,
  maxPacketBytes: 65536,
  maxInFlight: 20000,
  maxQueuedBeforeConnack: 1000,
});
const url = `mqtt://127.0.0.1:${broker.port}`;
const base = 'window 1 (ack per message)';
const rows: RateRow[] = [{ name: base, rates: await repeat(5, () => oneClient(url, 1)), unit: 'msg/s' }];
for (const w of [16, 256]) {
  rows.push({ name: `window ${w}`, rates: await repeat(5, () => oneClient(url, w)), baseline: base, unit: 'msg/s' });
}
await broker.close();
await ingestor.close();
rmSync(dir, { recursive: true, force: true });
printRateTable(`embedded broker, one connection, QoS 1, durability safe, ${getCodec().kind} codec`, rows);
