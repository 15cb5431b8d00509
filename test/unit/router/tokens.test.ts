/** Gateway tokens (src/router/tokens.ts): file errors, authentication, the no-tokens mode. */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addGatewayToken, GatewayTokens, trustedGateway } from '../../../src/router/tokens.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const TOKEN = 'a-long-enough-token-0123';

function file(content: string): string {
  const f = join(tmpDir(), 'tokens.json');
  writeFileSync(f, content);
  return f;
}

const code = (c: string, message?: RegExp) => expect.objectContaining({ code: c, ...(message ? { message: expect.stringMatching(message) } : {}) });

describe('tokens file', () => {
  it('refuses a missing, unparsable or mis-shaped file with BAD_CONFIG', () => {
    expect(() => GatewayTokens.load(join(tmpDir(), 'absent.json'))).toThrow(code('BAD_CONFIG', /ENOENT/));
    expect(() => GatewayTokens.load(file('{"gateways":'))).toThrow(code('BAD_CONFIG', /JSON/));
    for (const shape of ['null', '{}', '{"gateways":null}', '{"gateways":[]}', '{"gateways":"x"}', '[]']) {
      expect(() => GatewayTokens.load(file(shape)), shape).toThrow(code('BAD_CONFIG', /expected \{"gateways"/));
    }
  });

  it('refuses bad gateway ids and short or non-string tokens', () => {
    expect(() => GatewayTokens.load(file(JSON.stringify({ gateways: { 'gw 1': TOKEN } })))).toThrow(code('BAD_CONFIG', /bad gateway id/));
    expect(() => GatewayTokens.load(file(JSON.stringify({ gateways: { ['g'.repeat(65)]: TOKEN } })))).toThrow(code('BAD_CONFIG', /bad gateway id/));
    expect(() => GatewayTokens.load(file(JSON.stringify({ gateways: { gw: 'short' } })))).toThrow(code('BAD_CONFIG', /at least 16 characters/));
    expect(() => GatewayTokens.load(file(JSON.stringify({ gateways: { gw: 12345678901234567 } })))).toThrow(code('BAD_CONFIG', /must be a string/));
  });

  it('authenticates the right id and token only', () => {
    const t = GatewayTokens.load(file(JSON.stringify({ gateways: { 'gw-1': TOKEN, 'gw-2': `${TOKEN}-2` } })));
    expect(t.authenticate('gw-1', `Bearer ${TOKEN}`)).toBe('gw-1');
    expect(t.authenticate('gw-2', `Bearer ${TOKEN}-2`)).toBe('gw-2');
    const refused: [unknown, unknown][] = [
      ['gw-1', `Bearer ${TOKEN}-2`],
      ['gw-2', `Bearer ${TOKEN}`],
      ['gw-3', `Bearer ${TOKEN}`],
      ['gw-1', TOKEN],
      ['gw-1', `bearer ${TOKEN}`],
      ['gw-1', `Bearer ${TOKEN} x`],
      ['gw-1', undefined],
      [undefined, `Bearer ${TOKEN}`],
      [['gw-1'], `Bearer ${TOKEN}`],
    ];
    for (const [id, auth] of refused) expect(() => t.authenticate(id, auth), `${String(id)} ${String(auth)}`).toThrow(code('UNAUTHORIZED'));
  });
});

describe('no tokens file (loopback only)', () => {
  it('trusts a well-formed gateway id header and refuses a missing or malformed one', () => {
    expect(trustedGateway('gw-1')).toBe('gw-1');
    expect(trustedGateway('a.b_c-9')).toBe('a.b_c-9');
    for (const bad of [undefined, '', 'gw 1', 'g'.repeat(65), ['gw-1'], 7]) {
      expect(() => trustedGateway(bad), String(bad)).toThrow(code('UNAUTHORIZED'));
    }
  });
});

describe('hashed at rest', () => {
  it('migrates a plain-text file to hashes on load; the same tokens still authenticate, then and after a reload', () => {
    const f = file(JSON.stringify({ gateways: { 'gw-1': TOKEN, 'gw-2': `${TOKEN}-2` } }));
    chmodSync(f, 0o640);
    const migrated: number[] = [];
    const t = GatewayTokens.load(f, { migrated: (n) => migrated.push(n) });
    expect(migrated).toEqual([2]);
    const text = readFileSync(f, 'utf8');
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text).gateways['gw-1']).toBe(`sha256:${createHash('sha256').update(TOKEN).digest('hex')}`);
    expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(t.authenticate('gw-1', `Bearer ${TOKEN}`)).toBe('gw-1');
    const again = GatewayTokens.load(f, { migrated: (n) => migrated.push(n) });
    expect(migrated).toEqual([2]);
    expect(again.authenticate('gw-2', `Bearer ${TOKEN}-2`)).toBe('gw-2');
    expect(() => again.authenticate('gw-1', `Bearer ${JSON.parse(text).gateways['gw-1']}`)).toThrow(code('UNAUTHORIZED'));
  });

  it('keeps working from memory when the file cannot be rewritten, and says so', () => {
    const f = file(JSON.stringify({ gateways: { 'gw-1': TOKEN } }));
    // The temp file's path is taken by a directory: the rewrite fails (also as root).
    mkdirSync(`${f}.tmp-${process.pid}`);
    const failed: string[] = [];
    const t = GatewayTokens.load(f, { failed: (n, err) => failed.push(`${n} ${(err as NodeJS.ErrnoException).code}`) });
    expect(failed).toEqual(['1 EISDIR']);
    expect(t.authenticate('gw-1', `Bearer ${TOKEN}`)).toBe('gw-1');
    expect(readFileSync(f, 'utf8')).toContain(TOKEN);
  });

  it('addGatewayToken creates the file or replaces a gateway token, hashed', () => {
    const f = join(tmpDir(), 'gw.json');
    addGatewayToken(f, 'gw-1', TOKEN);
    addGatewayToken(f, 'gw-2', `${TOKEN}-2`);
    addGatewayToken(f, 'gw-1', `${TOKEN}-new`);
    expect(readFileSync(f, 'utf8')).not.toContain(TOKEN);
    const t = GatewayTokens.load(f);
    expect(t.authenticate('gw-1', `Bearer ${TOKEN}-new`)).toBe('gw-1');
    expect(() => t.authenticate('gw-1', `Bearer ${TOKEN}`)).toThrow(code('UNAUTHORIZED'));
    expect(t.authenticate('gw-2', `Bearer ${TOKEN}-2`)).toBe('gw-2');
    expect(() => addGatewayToken(f, 'bad id', TOKEN)).toThrow(code('BAD_REQUEST'));
  });
});
