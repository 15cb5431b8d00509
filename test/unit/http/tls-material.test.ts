/** The shared TLS material loader, against files made by openssl: each bad file gets its own code and names the file. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLmjError, type ErrorCode, type LmjError } from '../../../src/errors.js';
import { loadCaBundle, loadTlsMaterial } from '../../../src/http/tls-material.js';
import { makeCa } from '../../helpers/certs.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

function tlsError(code: ErrorCode, fn: () => unknown): LmjError {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err, code)) return err;
    throw err;
  }
  throw new Error(`expected ${code}`);
}

describe('loadTlsMaterial', () => {
  it('loads a good certificate, key and CA, and refuses each kind of bad file with its own code', () => {
    const dir = tmpDir();
    const ca = makeCa(dir);
    const server = ca.server('server');
    const other = ca.server('other');
    const good = loadTlsMaterial({ ...server, ca: ca.cert });
    expect(good.subject).toBe('CN=localhost');
    expect(good.warnings).toEqual([]);
    expect(good.validTo.getTime()).toBeGreaterThan(Date.now());
    expect(good.ca?.toString()).toContain('BEGIN CERTIFICATE');

    const missing = tlsError('TLS_FILE_MISSING', () => loadTlsMaterial({ cert: join(dir, 'nope.crt'), key: server.key }));
    expect(missing.message).toContain('nope.crt');
    expect(missing.details).toMatchObject({ key: 'tls.cert' });
    mkdirSync(join(dir, 'a-dir'));
    expect(tlsError('TLS_FILE_UNREADABLE', () => loadTlsMaterial({ cert: server.cert, key: join(dir, 'a-dir') })).details).toMatchObject({ key: 'tls.key' });
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    expect(tlsError('TLS_BAD_PEM', () => loadTlsMaterial({ cert: join(dir, 'junk.pem'), key: server.key })).message).toContain('junk.pem');
    // A certificate where the key belongs: not a private key.
    expect(tlsError('TLS_BAD_PEM', () => loadTlsMaterial({ cert: server.cert, key: server.cert })).details).toMatchObject({ key: 'tls.key' });
    expect(tlsError('TLS_BAD_PEM', () => loadTlsMaterial({ ...server, ca: join(dir, 'junk.pem') })).details).toMatchObject({ key: 'tls.ca' });
    const mismatch = tlsError('TLS_KEY_MISMATCH', () => loadTlsMaterial({ cert: server.cert, key: other.key }));
    expect(mismatch.message).toContain(other.key);
  });

  it('loads an expired certificate with a warning, not an error', () => {
    const dir = tmpDir();
    const expired = makeCa(dir).server('expired', -1);
    const m = loadTlsMaterial(expired);
    expect(m.validTo.getTime()).toBeLessThan(Date.now());
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toMatch(/expired on .*clients will refuse it/);
  });

  it('loadCaBundle reads a CA and refuses a missing or non-PEM file', () => {
    const dir = tmpDir();
    const ca = makeCa(dir);
    copyFileSync(ca.cert, join(dir, 'bundle.pem'));
    expect(loadCaBundle(join(dir, 'bundle.pem')).toString()).toContain('BEGIN CERTIFICATE');
    expect(tlsError('TLS_FILE_MISSING', () => loadCaBundle(join(dir, 'none.pem'))).message).toContain('none.pem');
    writeFileSync(join(dir, 'junk.pem'), 'junk');
    expect(tlsError('TLS_BAD_PEM', () => loadCaBundle(join(dir, 'junk.pem'))).details).toMatchObject({ key: 'upstream-ca' });
  });
});
