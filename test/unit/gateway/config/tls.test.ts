/** The TLS settings of the daemon configuration: defaults, sources and cross-setting rules. */
import { describe, expect, it } from 'vitest';
import { isLmjError, type LmjError } from '../../../../src/errors.js';
import { loadConfig } from '../../../../src/gateway/config/index.js';

function badConfig(fn: () => unknown): LmjError {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err, 'BAD_CONFIG')) return err;
    throw err;
  }
  throw new Error('expected BAD_CONFIG');
}

const files = { tlsCert: '/etc/lmj/cert.pem', tlsKey: '/etc/lmj/key.pem' };

describe('TLS configuration', () => {
  it('is off by default; a certificate turns on the TLS port 8883 unless one is given', () => {
    const off = loadConfig();
    expect(off.tls).toEqual({ cert: undefined, key: undefined, ca: undefined, handshakeTimeoutMs: 10_000 });
    expect(off.mqtt.tlsPort).toBeUndefined();
    expect(off.mqtt.clientCerts).toBe('off');
    const on = loadConfig({ flags: files });
    expect(on.tls.cert).toBe('/etc/lmj/cert.pem');
    expect(on.mqtt.tlsPort).toBe(8883);
    expect(loadConfig({ flags: { ...files, mqttTlsPort: '0' } }).mqtt.tlsPort).toBe(0);
    expect(loadConfig({ env: { LMJ_EDGE_TLS_CERT: 'c.pem', LMJ_EDGE_TLS_KEY: 'k.pem', LMJ_EDGE_MQTT_TLS_PORT: '9883' } }).mqtt.tlsPort).toBe(9883);
    // External broker mode has no embedded TLS listener.
    expect(loadConfig({ flags: { ...files, broker: 'mqtt://127.0.0.1:1883' } }).mqtt.tlsPort).toBeUndefined();
  });

  it('refuses incomplete or contradictory TLS settings, naming the key', () => {
    expect(badConfig(() => loadConfig({ flags: { tlsCert: 'c.pem' } })).details?.['key']).toBe('tls.key');
    expect(badConfig(() => loadConfig({ flags: { tlsKey: 'k.pem' } })).details?.['key']).toBe('tls.cert');
    expect(badConfig(() => loadConfig({ flags: { mqttTlsPort: '8883' } })).details?.['key']).toBe('mqtt.tlsPort');
    expect(badConfig(() => loadConfig({ flags: { mqttClientCerts: 'require' } })).details?.['key']).toBe('mqtt.clientCerts');
    expect(badConfig(() => loadConfig({ flags: { ...files, mqttClientCerts: 'optional' } })).details?.['key']).toBe('tls.ca');
    expect(badConfig(() => loadConfig({ flags: { ...files, mqttClientCerts: 'sometimes' } })).details?.['key']).toBe('mqtt.clientCerts');
    expect(badConfig(() => loadConfig({ env: { LMJ_EDGE_TLS_HANDSHAKE_TIMEOUT_MS: '0' } })).details?.['key']).toBe('tls.handshakeTimeoutMs');
  });

  it('checks the plain loopback twin of HTTPS and the upstream CA', () => {
    expect(badConfig(() => loadConfig({ flags: { httpPlainPort: '8079' } })).details?.['key']).toBe('http.plainPort');
    expect(loadConfig({ flags: { ...files, httpPlainPort: '0' } }).http.plainPort).toBe(0);
    const upstream = { upstream: 'http://127.0.0.1:9001', upstreamToken: 'tok-0123456789', gatewayId: 'gw-1' };
    expect(badConfig(() => loadConfig({ flags: { ...upstream, upstreamCa: '/etc/lmj/ca.pem' } })).details?.['key']).toBe('sync.upstreamCa');
    let missing: unknown;
    try {
      loadConfig({ flags: { ...upstream, upstream: 'https://127.0.0.1:9001', upstreamCa: '/nonexistent/ca.pem' } });
    } catch (err) {
      missing = err;
    }
    expect(isLmjError(missing, 'TLS_FILE_MISSING')).toBe(true);
    expect((missing as LmjError).message).toContain('/nonexistent/ca.pem');
  });

  it('keeps listeners beyond loopback behind a credential', () => {
    const withCa = { ...files, tlsCa: '/etc/lmj/ca.pem' };
    // Required client certificates: the plain listener would bypass them off loopback.
    const plain = badConfig(() => loadConfig({ flags: { ...withCa, mqttClientCerts: 'require', mqttHost: '0.0.0.0' } }));
    expect(plain.details?.['key']).toBe('mqtt.host');
    expect(plain.message).toContain('--mqtt-tls-host');
    const outside = loadConfig({ flags: { ...withCa, mqttClientCerts: 'require', mqttTlsHost: '0.0.0.0' } });
    expect([outside.mqtt.host, outside.mqtt.tlsHost]).toEqual(['127.0.0.1', '0.0.0.0']);
    // A TLS listener outside without client certificates needs the users file.
    expect(badConfig(() => loadConfig({ flags: { ...withCa, mqttTlsHost: '0.0.0.0' } })).details?.['key']).toBe('mqtt.usersFile');
    expect(loadConfig({ flags: { ...withCa, mqttTlsHost: '0.0.0.0', mqttUsers: '/etc/lmj/users' } }).mqtt.tlsHost).toBe('0.0.0.0');
  });
});
