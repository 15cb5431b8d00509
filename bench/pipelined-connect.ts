/**
 * Clients that do not wait for CONNACK: each of C raw connections writes its
 * CONNECT and N QoS 0 telemetry PUBLISHes in one write, then closes. Prints, per
 * pre-CONNACK queue bound (aedes' default 42, and lmj-edge's `maxQueuedBeforeConnack`
 * candidates), how many connections were reset, how many messages reached ingest
 * and how many were counted as refused (`shed{reason="connect_queue_full"}`).
 * Not a speed measurement: a loss measurement.
 *
 * Run: npm run build:ts && node dist/bench/pipelined-connect.js [clients] [messages]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { getCodec } from '../src/codec/index.js';
import { startEmbeddedBroker } from '../src/gateway/broker/embedded.js';
import { createIngestor } from '../src/gateway/ingest/index.js';
import { createLogger } from '../src/http/logger.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';

const clients = Number(process.argv[2] ?? 10);
const messages = Number(process.argv[3] ?? 5000);

function burst(clientId: string): Buffer {
  const parts = [mqttPacket.generate({ cmd: 'connect', clientId, protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30 })];
  for (let i = 0; i < messages; i++) {
    const payload = Buffer.from(`{"i":${i}}`);
    parts.push(mqttPacket.generate({ cmd: 'publish', topic: `devices/f-${i % 20}/telemetry`, payload, qos: 0, dup: false, retain: false }));
  }
  return Buffer.concat(parts);
}

async function run(limit: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-bench-pipe-'));
  const metrics = new GatewayMetrics(getCodec().kind);
  const ingestor = await createIngestor({ dataDir: dir, hooks: metrics.ingestHooks() });
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    ingestor,
    metrics,
    log: createLogger('silent'),
    maxConnections: clients + 10,
    maxPacketBytes: 65536,
    maxInFlight: clients * messages,
    maxQueuedBeforeConnack: limit,
  });
  let resets = 0;
  await Promise.all(
    Array.from(
      { length: clients },
      (_, c) =>
        new Promise<void>((resolve) => {
          const bytes = burst(`pipe-${c}`);
          const s = connect(broker.port, '127.0.0.1', () => s.end(bytes));
          s.on('error', () => resets++);
          s.on('close', () => resolve());
          s.resume();
        }),
    ),
  );
  await ingestor.flush();
  const text = await metrics.registry.getSingleMetricAsString('lmj_messages_shed_total');
  const refused = text.split('\n').find((l) => l.startsWith('lmj_messages_shed_total{reason="connect_queue_full"}'))?.split(' ')[1] ?? '0';
  const submitted = ingestor.stats().submitted;
  await broker.close();
  await ingestor.close();
  rmSync(dir, { recursive: true, force: true });
  return [String(limit), `${resets}/${clients}`, `${submitted}/${clients * messages}`, refused];
}

const rows: string[][] = [];
for (const limit of [42, 1000, 4096]) rows.push(await run(limit));
const header = ['queue bound', 'connections reset', 'messages to ingest', 'counted refused'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));
