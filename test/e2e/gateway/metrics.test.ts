/**
 * /metrics of a real daemon (`lmj-edge start --upstream …`), scraped after a known
 * sequence of events, and `lmj-edge status` against it: every gateway series and every
 * `lmj_sync_*` series is checked for the value the events imply. The router is a real
 * one started late on a reserved loopback port, so the first uploads fail (error
 * series) before one succeeds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startRouter } from '../../../src/router/index.js';
import { CLI, startDaemon } from '../../helpers/daemon.js';
import { freePort } from '../../helpers/free-port.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, silent, tokensFile } from '../../integration/sync/helpers.js';
import { getJson, getText, waitFor } from './http-client.js';

const run = promisify(execFile);
const BUDGET = 1_000_000;
/** The codec of this test leg (LMJ_CODEC=portable runs the daemon on the portable codec). */
const CODEC = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics and status of a running gateway', () => {
  it('every gateway and lmj_sync_* series reports what happened; lmj-edge status shows the same', async () => {
    const dir = tmpDir();
    const routerPort = await freePort();
    const startedAt = Date.now();
    const d = await startDaemon({
      dataDir: join(dir, 'gw'),
      args: ['--upstream', `http://127.0.0.1:${routerPort}`, '--upstream-token', TOKEN, '--gateway-id', 'gw-1', '--outbox-budget', String(BUDGET)],
      // A cap of two open instances: the third device evicts the least recently used.
      env: { LMJ_EDGE_MAX_OPEN_INSTANCES: '2', LMJ_CODEC: CODEC },
    });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'metrics', reconnectPeriod: 0 });
    onTestFinished(() => void c.end(true));
    for (const id of ['m-1', 'm-2', 'm-3']) await c.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ v: 1 }), { qos: 1 });
    await c.publishAsync('devices/m-1/telemetry', '{"v":', { qos: 1 });
    await c.publishAsync('devices/m-1/telemetry', JSON.stringify({ q: 0 }), { qos: 0 });
    await waitFor(async () => (await getJson(d.httpUrl, '/devices/m-1')).body.readings === 2, 10_000, 'QoS 0 stored');

    // No router yet: uploads fail and are retried.
    await waitFor(async () => (await getJson(d.httpUrl, '/sync/status')).body.counters.batchFailures >= 1, 20_000, 'a failed upload');
    const failing = await getText(d.httpUrl, '/metrics');
    expect(sample(failing, 'lmj_sync_backlog_readings')).toBe(4);
    expect(sample(failing, 'lmj_sync_backlog_devices')).toBe(3);
    expect(sample(failing, 'lmj_sync_backlog_bytes')).toBeGreaterThan(0);
    expect(sample(failing, 'lmj_sync_oldest_unsynced_age_seconds')).toBeGreaterThan(0);
    expect(sample(failing, 'lmj_sync_last_error_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000));
    expect(sample(failing, 'lmj_sync_batch_failures_total')).toBeGreaterThanOrEqual(1);
    expect(sample(failing, 'lmj_sync_readings_synced_total')).toBe(0);
    // Never succeeded: the gauge keeps prom-client's initial 0.
    expect(sample(failing, 'lmj_sync_last_success_timestamp_seconds')).toBe(0);

    const r = await startRouter({ dataDir: join(dir, 'router'), httpPort: routerPort, tokensFile: tokensFile(join(dir, 'router')), nodes: 2, durability: 'fast', log: silent });
    onTestFinished(() => r.stop());
    // readingsSynced moves after the cursor commit (the backlog already before it): wait for both.
    await waitFor(async () => {
      const st = (await getJson(d.httpUrl, '/sync/status')).body;
      return st.backlog.readings === 0 && st.counters.readingsSynced === 4;
    }, 30_000, 'backlog synced');

    const m = await getText(d.httpUrl, '/metrics');
    const expected: Record<string, number> = {
      'lmj_messages_in_total{transport="embedded",qos="1"}': 4,
      'lmj_messages_in_total{transport="embedded",qos="0"}': 1,
      'lmj_messages_acked_total{transport="embedded"}': 4,
      'lmj_messages_results_total{status="stored"}': 4,
      'lmj_messages_results_total{status="rejected"}': 1,
      'lmj_messages_rejected_total{reason="BAD_JSON"}': 1,
      'lmj_deadletters_dropped_total': 0,
      'lmj_pool_open_instances': 2,
      'lmj_mqtt_connections{transport="embedded"}': 1,
      'lmj_ingest_pending_messages': 0,
      'lmj_ingest_backpressure_total': 0,
      [`lmj_codec_info{kind="${CODEC}"}`]: 1,
      'lmj_sync_backlog_readings': 0,
      'lmj_sync_backlog_bytes': 0,
      'lmj_sync_backlog_devices': 0,
      'lmj_sync_budget_bytes': BUDGET,
      'lmj_sync_oldest_unsynced_age_seconds': 0,
      'lmj_sync_backpressure': 0,
      'lmj_sync_readings_synced_total': 4,
      'lmj_sync_readings_duplicate_total': 0,
      'lmj_sync_readings_dropped_total': 0,
      'lmj_sync_backpressure_waits_total': 0,
    };
    const got = Object.fromEntries(Object.keys(expected).map((k) => [k, sample(m, k)]));
    expect(got).toEqual(expected);
    // Each stored message was its own commit group (one device, one message).
    for (const h of ['lmj_commit_batch_messages', 'lmj_commit_batch_devices']) {
      expect({ count: sample(m, `${h}_count`), sum: sample(m, `${h}_sum`) }, h).toEqual({ count: 4, sum: 4 });
    }
    expect(sample(m, 'lmj_commit_latency_seconds_count')).toBe(4);
    // Uploads read through the pool too (how often depends on the retries): what is
    // fixed is that the cap held and every open beyond it was an eviction.
    const opens = sample(m, 'lmj_pool_opens_total')!;
    expect(sample(m, 'lmj_pool_evictions_total')).toBe(opens - 2);
    expect(opens).toBeGreaterThanOrEqual(4);
    expect(sample(m, 'lmj_commit_latency_seconds_sum')).toBeGreaterThan(0);
    expect(sample(m, 'lmj_messages_shed_total{reason="overloaded"}') ?? 0).toBe(0);
    expect(sample(m, 'lmj_sync_batches_sent_total')).toBeGreaterThanOrEqual(1);
    const failures = sample(m, 'lmj_sync_batch_failures_total')!;
    expect(failures).toBeGreaterThanOrEqual(1);
    const lastSuccess = sample(m, 'lmj_sync_last_success_timestamp_seconds')!;
    expect(lastSuccess).toBeGreaterThanOrEqual(sample(m, 'lmj_sync_last_error_timestamp_seconds')!);

    // lmj-edge status, JSON and table, against the same daemon.
    const json = JSON.parse((await run(process.execPath, [CLI, 'status', '--http', d.httpUrl, '--json'])).stdout);
    expect(json.health).toMatchObject({ status: 'ok', mode: 'embedded', codec: CODEC });
    expect(json.sync).toMatchObject({
      upstream: `http://127.0.0.1:${routerPort}`,
      gatewayId: 'gw-1',
      budgetBytes: BUDGET,
      backlog: { readings: 0, bytes: 0, devices: 0 },
      counters: { readingsSynced: 4, batchFailures: failures },
    });
    const table = (await run(process.execPath, [CLI, 'status', '--http', d.httpUrl])).stdout;
    expect(table).toMatch(new RegExp(`upstream\\s+http://127\\.0\\.0\\.1:${routerPort} as gw-1`));
    expect(table).toMatch(/backlog\s+0 readings, 0 bytes, 0 devices/);
    expect(table).toMatch(new RegExp(`synced\\s+4 readings in \\d+ batches \\(${failures} failed\\)`));
    expect(table).toMatch(/last error\s+UPSTREAM_FAILED: /);
    await d.kill('SIGKILL');
  }, 120_000);

  it('without --upstream: exact pool series at a cap of 2; status says sync is disabled; against no daemon it fails', async () => {
    const d = await startDaemon({ dataDir: tmpDir(), env: { LMJ_EDGE_MAX_OPEN_INSTANCES: '2' } });
    try {
      const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'pool', reconnectPeriod: 0 });
      for (const id of ['p-1', 'p-2', 'p-1', 'p-3']) await c.publishAsync(`devices/${id}/telemetry`, '{"v":1}', { qos: 1 });
      await c.endAsync();
      // The server sees the close a moment after the client: wait for the gauge, not a time.
      await waitFor(async () => sample(await getText(d.httpUrl, '/metrics'), 'lmj_mqtt_connections{transport="embedded"}') === 0, 10_000, 'connection closed');
      const m = await getText(d.httpUrl, '/metrics');
      // p-1 was used after p-2, so p-2 is the one evicted for p-3.
      expect({
        opens: sample(m, 'lmj_pool_opens_total'),
        evictions: sample(m, 'lmj_pool_evictions_total'),
        open: sample(m, 'lmj_pool_open_instances'),
        connections: sample(m, 'lmj_mqtt_connections{transport="embedded"}'),
      }).toEqual({ opens: 3, evictions: 1, open: 2, connections: 0 });
      expect((await getJson(d.httpUrl, '/devices/p-2')).status).toBe(200);
      expect(sample(await getText(d.httpUrl, '/metrics'), 'lmj_pool_opens_total')).toBe(4);
      const table = (await run(process.execPath, [CLI, 'status', '--http', d.httpUrl])).stdout;
      expect(table).toMatch(/status\s+ok/);
      expect(table).toMatch(/sync\s+disabled \(no --upstream\)/);
      const json = JSON.parse((await run(process.execPath, [CLI, 'status', '--http', d.httpUrl, '--json'])).stdout);
      expect(json.sync).toBeNull();
    } finally {
      await d.kill('SIGKILL');
    }
    const gone = await run(process.execPath, [CLI, 'status', '--http', d.httpUrl]).then(
      () => ({ code: 0 }),
      (err: { code: number }) => ({ code: err.code }),
    );
    expect(gone.code).toBe(1);
  }, 60_000);
});
