import { chmodSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertApiListener, routeAccess, tokenRequired } from '../../../src/http/api-auth.js';
import { ApiTokens, createApiToken, hashApiToken, readTokensFile, revokeApiToken } from '../../../src/http/api-tokens.js';
import { AuthFailureLimiter } from '../../../src/http/auth-rate-limit.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe('API tokens file', () => {
  it('creates 256-bit tokens, keeps only their SHA-256, verifies, lists and revokes', () => {
    const file = join(tmpDir(), 'tokens.json');
    const a = createApiToken(file, 'read');
    const b = createApiToken(file, 'admin', 'ops');
    expect(a.token).toMatch(/^lmj_[A-Za-z0-9_-]{43}$/);
    expect(a.entry).toMatchObject({ name: 'read-1', scope: 'read', hash: hashApiToken(a.token) });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(a.token);
    expect(text).not.toContain(b.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const tokens = ApiTokens.load(file);
    expect(tokens.verify(a.token)).toEqual({ name: 'read-1', scope: 'read' });
    expect(tokens.verify(b.token)).toEqual({ name: 'ops', scope: 'admin' });
    expect(tokens.verify(hashApiToken(a.token))).toBeUndefined();
    expect(tokens.verify('')).toBeUndefined();
    expect(() => createApiToken(file, 'read', 'ops')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // An operator made it readable for the service's group: rewrites keep that.
    chmodSync(file, 0o640);
    revokeApiToken(file, 'read-1');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readTokensFile(file).map((e) => e.name)).toEqual(['ops']);
    expect(() => revokeApiToken(file, 'read-1')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('a running process picks up a revocation, and keeps its tokens when the file turns bad', () => {
    const file = join(tmpDir(), 'tokens.json');
    const { token } = createApiToken(file, 'read', 'x');
    const { token: other } = createApiToken(file, 'read', 'y');
    const errors: string[] = [];
    const tokens = ApiTokens.load(file, (e) => errors.push(e.code));
    const t0 = Date.now();
    expect(tokens.verify(token, t0)).toBeDefined();
    revokeApiToken(file, 'x');
    expect(tokens.verify(token, t0 + 1500)).toBeUndefined();
    expect(tokens.verify(other, t0 + 1500)).toBeDefined();
    writeFileSync(file, '{"version":1,"tokens":[{"name":"z","scope":"read","hash":"plain-token-here"}]}');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(tokens.verify(other, t0 + 3000)).toBeDefined();
    expect(errors).toEqual(['BAD_CONFIG']);
  });

  it('refuses malformed files and a missing one with BAD_CONFIG', () => {
    const dir = tmpDir();
    expect(() => ApiTokens.load(join(dir, 'none.json'))).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    for (const text of ['', '[]', '{"tokens":[]}', '{"version":1,"tokens":[{"name":"a","scope":"root","hash":"sha256:' + '0'.repeat(64) + '"}]}', '{"version":1,"tokens":[{"name":"a","scope":"read","hash":"secret"}]}']) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, text);
      expect(() => ApiTokens.load(f)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });
});

describe('token policy', () => {
  it('requires tokens as a function of the configured listen address and the tokens file', () => {
    expect(tokenRequired('127.0.0.1', false)).toBe(false);
    expect(tokenRequired('127.0.0.1', true)).toBe(true);
    expect(tokenRequired('127.0.0.1', true, true)).toBe(false);
    expect(tokenRequired('::1', true, true)).toBe(false);
    expect(tokenRequired('0.0.0.0', true, true)).toBe(true);
    expect(tokenRequired('192.168.1.5', true, false)).toBe(true);
    expect(() => assertApiListener('0.0.0.0', false, 'http.apiTokensFile', '--api-tokens')).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => assertApiListener('::', false, 'k', '--f')).toThrow(/API tokens are required \(--f FILE/);
    expect(() => assertApiListener('0.0.0.0', true, 'k', '--f')).not.toThrow();
    expect(() => assertApiListener('127.0.0.1', false, 'k', '--f')).not.toThrow();
  });

  it('maps routes to scopes: healthz public, reads read, dead letters and every write admin', () => {
    expect(routeAccess('GET', '/healthz')).toBe('public');
    expect(routeAccess('GET', '/devices/:id/readings')).toBe('read');
    expect(routeAccess('HEAD', '/metrics')).toBe('read');
    expect(routeAccess('POST', '/query')).toBe('read');
    expect(routeAccess('GET', '/deadletters')).toBe('admin');
    expect(routeAccess('POST', '/retention/run')).toBe('admin');
    expect(routeAccess('DELETE', '/query')).toBe('admin');
    expect(routeAccess('POST', '/healthz')).toBe('admin');
    expect(routeAccess('GET', undefined)).toBe('read');
  });
});

describe('AuthFailureLimiter', () => {
  it('blocks an address after maxFailures in a window, until the window ends, with bounded memory', () => {
    const l = new AuthFailureLimiter({ maxFailures: 3, windowMs: 60_000, maxAddresses: 100 });
    for (let i = 0; i < 3; i++) l.fail('a', 1000 + i);
    expect(l.blockedFor('a', 2000)).toBe(59);
    expect(l.blockedFor('b', 2000)).toBe(0);
    expect(l.blockedFor('a', 61_000)).toBe(0);
    for (let i = 0; i < 1000; i++) l.fail(`x${i}`, 70_000);
    expect(l.tracked).toBeLessThanOrEqual(100);
  });
});
