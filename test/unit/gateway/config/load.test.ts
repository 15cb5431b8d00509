import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLmjError, type LmjError } from '../../../../src/errors.js';
import { defaultConfig, loadConfig } from '../../../../src/gateway/config/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

function badConfig(fn: () => unknown): LmjError {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err, 'BAD_CONFIG')) return err;
    throw err;
  }
  throw new Error('expected BAD_CONFIG');
}

describe('loadConfig', () => {
  it('defaults are loopback-only and durable', () => {
    const cfg = loadConfig();
    expect(cfg).toEqual(defaultConfig());
    expect(cfg.mqtt.host).toBe('127.0.0.1');
    expect(cfg.http.host).toBe('127.0.0.1');
    expect(cfg.durability).toBe('safe');
    expect(cfg.mqtt.port).toBe(1883);
  });

  it('reads the POST /query limits from file, env and flags in that order', () => {
    const dir = tmpDir();
    const file = join(dir, 'q.json');
    writeFileSync(file, JSON.stringify({ query: { maxRows: 100, timeoutMs: 1000, maxGroups: 7 } }));
    const cfg = loadConfig({ file, env: { LMJ_EDGE_QUERY_MAX_ROWS: '200', LMJ_EDGE_QUERY_MAX_SCANNED: '5000' }, flags: { queryTimeout: '300' } });
    expect(cfg.query).toEqual({ maxRows: 200, timeoutMs: 300, maxScanned: 5000, maxGroups: 7 });
    expect(loadConfig({ file, flags: { queryMaxRows: '300' } }).query.maxRows).toBe(300);
    expect(defaultConfig().query).toEqual({ maxRows: 10_000, timeoutMs: 30_000, maxScanned: 50_000_000, maxGroups: 100_000 });
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_QUERY_MAX_ROWS: '0' } })).details?.['key']).toBe('query.maxRows');
  });

  it('applies flags over env over file over defaults', () => {
    const dir = tmpDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ mqtt: { port: 1000 }, http: { port: 2000 }, durability: 'fast', dataDir: 'rel' }));
    const cfg = loadConfig({
      file,
      env: { LMJ_EDGE_HTTP_PORT: '3000', LMJ_EDGE_MQTT_PORT: '4000' },
      flags: { mqttPort: '0' },
    });
    expect(cfg.mqtt.port).toBe(0);
    expect(cfg.http.port).toBe(3000);
    expect(cfg.durability).toBe('fast');
    expect(cfg.dataDir).toBe(join(process.cwd(), 'rel'));
  });

  it('names the bad key, its source and why', () => {
    const e1 = badConfig(() => loadConfig({ flags: { mqttPort: '70000' } }));
    expect(e1.details).toMatchObject({ key: 'mqtt.port', source: 'flag' });
    expect(e1.message).toContain('between 0 and 65535');
    const e2 = badConfig(() => loadConfig({ env: { LMJ_EDGE_DURABILITY: 'maybe' } }));
    expect(e2.details).toMatchObject({ key: 'durability', source: 'env' });
    const e3 = badConfig(() => loadConfig({ env: { LMJ_EDGE_HTTP_PORT: '12ab' } }));
    expect(e3.details).toMatchObject({ key: 'http.port', reason: expect.stringContaining('integer') });
  });

  it('reads ingest.journal as a boolean from file, env and flag, later sources winning', () => {
    const dir = tmpDir();
    const file = join(dir, 'j.json');
    writeFileSync(file, JSON.stringify({ ingest: { journal: false, applyInFlight: 2 } }));
    expect(loadConfig({ file }).ingest).toMatchObject({ journal: false, applyInFlight: 2 });
    expect(loadConfig({ file, env: { LMJ_EDGE_INGEST_JOURNAL: 'true' } }).ingest.journal).toBe(true);
    expect(loadConfig({ file, env: { LMJ_EDGE_INGEST_JOURNAL: 'on' }, flags: { journal: 'off' } }).ingest.journal).toBe(false);
    const e = badConfig(() => loadConfig({ env: { LMJ_EDGE_INGEST_JOURNAL: 'yes please' } }));
    expect(e.details).toMatchObject({ key: 'ingest.journal', source: 'env', reason: expect.stringContaining('true or false') });
    const small = badConfig(() => loadConfig({ env: { LMJ_EDGE_INGEST_JOURNAL_MAX_BYTES: '1000' } }));
    expect(small.details).toMatchObject({ key: 'ingest.journalMaxBytes', source: 'env' });
  });

  it('storage.minFreeBytes: file < env < flag, validated', () => {
    const dir = tmpDir();
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ storage: { minFreeBytes: 1000, checkIntervalMs: 250 } }));
    expect(loadConfig({ file }).storage).toEqual({ minFreeBytes: 1000, checkIntervalMs: 250 });
    expect(loadConfig({ file, env: { LMJ_EDGE_MIN_FREE_BYTES: '2000' } }).storage.minFreeBytes).toBe(2000);
    expect(loadConfig({ file, env: { LMJ_EDGE_MIN_FREE_BYTES: '2000' }, flags: { minFreeBytes: '3000' } }).storage.minFreeBytes).toBe(3000);
    expect(badConfig(() => loadConfig({ flags: { minFreeBytes: '-1' } })).details).toMatchObject({ key: 'storage.minFreeBytes', source: 'flag' });
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_DISK_CHECK_MS: '1' } })).details).toMatchObject({ key: 'storage.checkIntervalMs', source: 'env' });
  });

  it('memory.mmapThresholdKb, memory.mallocArenas, memory.instancesMb: defaults 128, 2 and 64, env over file, 0 allowed, validated', () => {
    const dir = tmpDir();
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify({ memory: { mmapThresholdKb: 256, mallocArenas: 4 } }));
    expect(defaultConfig().memory).toMatchObject({ mmapThresholdKb: 128, mallocArenas: 2, instancesMb: 64 });
    expect(loadConfig({ env: { LMJ_EDGE_INSTANCES_MB: '0' } }).memory.instancesMb).toBe(0);
    expect(loadConfig({ file }).memory).toMatchObject({ mmapThresholdKb: 256, mallocArenas: 4 });
    expect(loadConfig({ file, env: { LMJ_EDGE_MMAP_THRESHOLD_KB: '0', LMJ_EDGE_MALLOC_ARENAS: '0' } }).memory).toMatchObject({ mmapThresholdKb: 0, mallocArenas: 0 });
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_MALLOC_ARENAS: '-1' } })).message).toContain('memory.mallocArenas');
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_MMAP_THRESHOLD_KB: '99999999' } })).message).toContain('memory.mmapThresholdKb');
  });

  it('rejects unknown keys and non-JSON files', () => {
    const dir = tmpDir();
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ mqtt: { prot: 1 } }));
    expect(badConfig(() => loadConfig({ file: typo })).details).toMatchObject({ key: 'mqtt.prot', reason: 'unknown setting' });
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ nope');
    expect(badConfig(() => loadConfig({ file: notJson })).details).toMatchObject({ key: 'config', reason: 'not JSON' });
    expect(badConfig(() => loadConfig({ file: join(dir, 'missing.json') })).details).toMatchObject({ reason: 'unreadable' });
  });

  it('refuses a LAN-facing embedded broker without credentials', () => {
    const err = badConfig(() => loadConfig({ flags: { mqttHost: '0.0.0.0' } }));
    expect(err.details).toMatchObject({ key: 'mqtt.usersFile' });
    expect(err.message).toContain('credentials are required');
    expect(loadConfig({ flags: { mqttHost: '0.0.0.0', mqttUsers: '/etc/users' } }).mqtt.usersFile).toBe('/etc/users');
    // External mode runs no broker, so no credentials are needed for it.
    expect(loadConfig({ flags: { mqttHost: '0.0.0.0', broker: 'mqtt://127.0.0.1:1883' } }).broker.url).toBe(
      'mqtt://127.0.0.1:1883',
    );
  });

  it('refuses a LAN-facing HTTP API without API tokens', () => {
    const err = badConfig(() => loadConfig({ flags: { httpHost: '0.0.0.0' } }));
    expect(err.details).toMatchObject({ key: 'http.apiTokensFile' });
    expect(err.message).toContain('API tokens are required (--api-tokens FILE');
    const cfg = loadConfig({ flags: { httpHost: '0.0.0.0', apiTokens: '/etc/lmj-edge/api-tokens.json', apiLoopbackOpen: true } });
    expect(cfg.http).toMatchObject({ apiTokensFile: '/etc/lmj-edge/api-tokens.json', apiLoopbackOpen: true, authFailuresPerMinute: 10 });
    expect(loadConfig({ env: { LMJ_EDGE_API_TOKENS: '/t.json', LMJ_EDGE_API_AUTH_FAILURES_PER_MINUTE: '3' } }).http).toMatchObject({ apiTokensFile: '/t.json', authFailuresPerMinute: 3 });
  });

  it('checks topic templates and broker URLs', () => {
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_TOPIC_TELEMETRY: 'devices/+/t' } })).details).toMatchObject({
      key: 'topics.telemetry',
    });
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_TOPIC_META: 'devices/{deviceId}/telemetry' } })).details).toMatchObject({
      key: 'topics.meta',
    });
    expect(badConfig(() => loadConfig({ flags: { broker: 'http://x' } })).details).toMatchObject({ key: 'broker.url' });
    expect(badConfig(() => loadConfig({ flags: { broker: 'not a url' } })).details).toMatchObject({ key: 'broker.url' });
  });
});
