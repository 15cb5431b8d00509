import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLmjError, type LmjError } from '../../../../src/errors.js';
import { loadConfig, syncOptionsOf } from '../../../../src/gateway/config/index.js';
import { syncSettings } from '../../../../src/sync/service.js';
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

describe('sync settings in the configuration table', () => {
  it('are off without an upstream, with the defaults in place', () => {
    const cfg = loadConfig();
    expect(cfg.sync).toEqual({ upstream: undefined, token: undefined, gatewayId: undefined, outboxBudget: 256 * 1024 * 1024, outboxPolicy: 'backpressure' });
    expect(syncOptionsOf(cfg)).toBeUndefined();
  });

  it('come from file < env < flags like every other setting', () => {
    const dir = tmpDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ sync: { upstream: 'http://127.0.0.1:9001', gatewayId: 'gw-file', outboxBudget: 1000, outboxPolicy: 'drop-oldest', token: 'file-token' } }));
    const cfg = loadConfig({
      file,
      env: { LMJ_EDGE_GATEWAY_ID: 'gw-env', LMJ_EDGE_OUTBOX_BUDGET: '2000', LMJ_EDGE_UPSTREAM_TOKEN: 'env-token' },
      flags: { outboxBudget: '3000' },
    });
    expect(syncOptionsOf(cfg)).toEqual({
      upstream: 'http://127.0.0.1:9001',
      gatewayId: 'gw-env',
      token: 'env-token',
      budgetBytes: 3000,
      policy: 'drop-oldest',
    });
  });

  it('take several routers in sync.upstream (comma-separated, each checked, normalized)', () => {
    const cfg = loadConfig({ env: { LMJ_EDGE_UPSTREAM: 'http://127.0.0.1:9001/, http://127.0.0.1:9002', LMJ_EDGE_GATEWAY_ID: 'gw-1' } });
    expect(syncSettings(syncOptionsOf(cfg)!).upstream).toBe('http://127.0.0.1:9001,http://127.0.0.1:9002');
    const second = badConfig(() => loadConfig({ flags: { upstream: 'http://127.0.0.1:9001,ftp://x' } }));
    expect(second.details).toMatchObject({ key: 'sync.upstream', source: 'flag', reason: expect.stringContaining('comma-separated') });
    const empty = badConfig(() => loadConfig({ flags: { upstream: 'http://127.0.0.1:9001,' } }));
    expect(empty.details).toMatchObject({ key: 'sync.upstream', source: 'flag' });
  });

  it('defaults the gateway id to an id-safe host name', () => {
    const opts = syncOptionsOf(loadConfig({ flags: { upstream: 'http://127.0.0.1:9001' } }));
    expect(opts?.gatewayId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });

  it('refuses bad values with BAD_CONFIG naming key, source and reason', () => {
    const policy = badConfig(() => loadConfig({ env: { LMJ_EDGE_OUTBOX_POLICY: 'keep-all' } }));
    expect(policy.details).toMatchObject({ key: 'sync.outboxPolicy', source: 'env' });
    const budget = badConfig(() => loadConfig({ flags: { outboxBudget: '0' } }));
    expect(budget.details).toMatchObject({ key: 'sync.outboxBudget', source: 'flag' });
    const url = badConfig(() => loadConfig({ flags: { upstream: 'ftp://x' } }));
    expect(url.details).toMatchObject({ key: 'sync.upstream', source: 'flag', reason: expect.stringContaining('http') });
    const dir = tmpDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ sync: { upstream: 'http://127.0.0.1:9001', gatewayId: 'bad id!' } }));
    const id = badConfig(() => loadConfig({ file }));
    expect(id.details).toMatchObject({ key: 'sync.gatewayId', source: 'file' });
    const token = badConfig(() => loadConfig({ env: { LMJ_EDGE_UPSTREAM: 'http://127.0.0.1:9001', LMJ_EDGE_UPSTREAM_TOKEN: 'has space' } }));
    expect(token.details).toMatchObject({ key: 'sync.token', source: 'env' });
    const unknown = badConfig(() => {
      writeFileSync(file, JSON.stringify({ sync: { upstreamUrl: 'http://x' } }));
      return loadConfig({ file });
    });
    expect(unknown.details).toMatchObject({ key: 'sync.upstreamUrl', source: 'file', reason: 'unknown setting' });
  });
});
