/**
 * Each process's /metrics shows only its own series: a real gateway daemon and a real
 * router, both on loopback port 0, share the base series (process, codec) and nothing else.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/gateway/config/index.js';
import { startDaemon } from '../../../src/gateway/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { router, silent } from '../sync/helpers.js';

const GATEWAY_ONLY = [
  'lmj_messages_in_total',
  'lmj_messages_acked_total',
  'lmj_messages_results_total',
  'lmj_messages_rejected_total',
  'lmj_messages_shed_total',
  'lmj_commit_batch_messages',
  'lmj_commit_batch_devices',
  'lmj_commit_latency_seconds',
  'lmj_pool_opens_total',
  'lmj_pool_evictions_total',
  'lmj_pool_open_instances',
  'lmj_instances_quarantined_total',
  'lmj_ingest_backpressure_total',
  'lmj_ingest_pending_messages',
  'lmj_deadletters_dropped_total',
  'lmj_mqtt_connections',
];
const ROUTER_ONLY = ['lmj_router_batches_total', 'lmj_router_records_total'];
const SHARED = ['lmj_codec_info', 'lmj_process_cpu_seconds_total', 'lmj_process_memory_bytes'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The metric names a Prometheus text exposition declares (`# TYPE name kind`). */
async function seriesAt(host: string, port: number): Promise<Set<string>> {
  const res = await request(`http://${host}:${port}/metrics`);
  expect(res.statusCode).toBe(200);
  const text = await res.body.text();
  const names = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2] ?? '');
  expect(names.length).toBeGreaterThan(0);
  return new Set(names);
}

describe('per-process /metrics', () => {
  it('the router publishes no gateway series and the gateway no router series', async () => {
    const dir = tmpDir('lmj-metrics-');
    const cfg = defaultConfig();
    cfg.dataDir = `${dir}/gw`;
    cfg.mqtt.port = 0;
    cfg.http.port = 0;
    const daemon = await startDaemon(cfg, { log: silent });
    cleanups.push(() => daemon.stop());
    const r = await router(`${dir}/router`, 1);
    cleanups.push(() => r.stop());

    const gw = await seriesAt(daemon.http.host, daemon.http.port);
    const rt = await seriesAt(r.http.host, r.http.port);
    for (const name of SHARED) {
      expect(gw.has(name), `gateway ${name}`).toBe(true);
      expect(rt.has(name), `router ${name}`).toBe(true);
    }
    for (const name of GATEWAY_ONLY) {
      expect(gw.has(name), `gateway ${name}`).toBe(true);
      expect(rt.has(name), `router ${name}`).toBe(false);
    }
    for (const name of ROUTER_ONLY) {
      expect(rt.has(name), `router ${name}`).toBe(true);
      expect(gw.has(name), `gateway ${name}`).toBe(false);
    }
    expect([...rt].filter((n) => n.startsWith('lmj_sync_'))).toEqual([]);
  });
});
