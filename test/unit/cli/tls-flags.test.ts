/** The TLS flags of `lmj-edge router` and `lmj-edge node`: what they turn on, and what they refuse. */
import { describe, expect, it } from 'vitest';
import { httpsOptionsOf, peerTlsOf } from '../../../src/cli/tls-flags.js';
import { isLmjError, type ErrorCode } from '../../../src/errors.js';
import { createLogger } from '../../../src/http/logger.js';
import { makeCa } from '../../helpers/certs.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const log = createLogger('silent');

function code(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
  throw new Error('expected an LmjError');
}

describe('router/node TLS flags', () => {
  it('turn on HTTPS, mutual TLS with --tls-ca, and peer TLS with --upstream-ca', () => {
    const dir = tmpDir();
    const ca = makeCa(dir);
    const s = ca.server('s');
    expect(httpsOptionsOf({}, 'node', log)).toBeUndefined();
    const plain = httpsOptionsOf({ tlsCert: s.cert, tlsKey: s.key }, 'node', log);
    expect(plain).toMatchObject({ clientCerts: 'off', handshakeTimeoutMs: 10_000, listener: 'node' });
    const mutual = httpsOptionsOf({ tlsCert: s.cert, tlsKey: s.key, tlsCa: ca.cert, tlsHandshakeTimeout: '500' }, 'router', log);
    expect(mutual).toMatchObject({ clientCerts: 'require', handshakeTimeoutMs: 500 });
    expect(peerTlsOf({}, mutual)).toBeUndefined();
    const peer = peerTlsOf({ upstreamCa: ca.cert }, mutual);
    expect(peer?.ca.toString()).toContain('BEGIN CERTIFICATE');
    expect(peer?.cert?.equals(mutual!.material.cert)).toBe(true);
    expect(peerTlsOf({ upstreamCa: ca.cert }, undefined)).not.toHaveProperty('cert');
  });

  it('refuse incomplete flags and bad files with their codes', () => {
    const dir = tmpDir();
    const ca = makeCa(dir);
    const s = ca.server('s');
    expect(code(() => httpsOptionsOf({ tlsCert: s.cert }, 'node', log))).toBe('BAD_CONFIG');
    expect(code(() => httpsOptionsOf({ tlsCa: ca.cert }, 'node', log))).toBe('BAD_CONFIG');
    expect(code(() => httpsOptionsOf({ tlsCert: s.cert, tlsKey: s.key, tlsHandshakeTimeout: '10' }, 'node', log))).toBe('BAD_CONFIG');
    expect(code(() => httpsOptionsOf({ tlsCert: s.cert, tlsKey: ca.key }, 'node', log))).toBe('TLS_KEY_MISMATCH');
    expect(code(() => peerTlsOf({ upstreamCa: `${dir}/missing.pem` }, undefined))).toBe('TLS_FILE_MISSING');
  });
});
