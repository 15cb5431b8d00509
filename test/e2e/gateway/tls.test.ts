/**
 * The daemon with TLS, as a real process: `--tls-cert/--tls-key/--tls-ca` with client
 * certificates required and a plain loopback HTTP twin. The start summary names the TLS
 * listeners; the API answers over HTTPS to a client with the CA and refuses one without;
 * a device with its certificate stores a reading; its certificate cannot publish for
 * another device (dead-lettered ACL_DENIED, counted on /metrics); a bad key file stops
 * the start with a clear error.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, type CertFiles, type TestCa } from '../../helpers/certs.js';
import { CLI, startDaemon, type DaemonProcess } from '../../helpers/daemon.js';

let dir: string;
let ca: TestCa;
let server: CertFiles;
let daemon: DaemonProcess;
let tlsPort: number;
/** The plain loopback listener (`--http-plain-port`). */
let plainUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmj-tls-e2e-'));
  ca = makeCa(dir);
  server = ca.server('server');
  daemon = await startDaemon({
    dataDir: join(dir, 'data'),
    args: ['--tls-cert', server.cert, '--tls-key', server.key, '--tls-ca', ca.cert, '--mqtt-tls-port', '0', '--mqtt-client-certs', 'require', '--http-plain-port', '0'],
    env: { LMJ_EDGE_LOG_LEVEL: 'info' },
  });
  const m = /^mqtts listening on 127\.0\.0\.1:(\d+)$/m.exec(daemon.stdout());
  if (m === null) throw new Error(`no mqtts line in:\n${daemon.stdout()}`);
  tlsPort = Number(m[1]);
  const p = /^http plain listening on 127\.0\.0\.1:(\d+)$/m.exec(daemon.stdout());
  if (p === null) throw new Error(`no plain http line in:\n${daemon.stdout()}`);
  plainUrl = `http://127.0.0.1:${p[1]}`;
  // The summary follows the listening lines.
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (daemon.stdout().includes('  upstream:')) resolve();
    };
    daemon.proc.stdout?.on('data', check);
    check();
  });
});
afterAll(async () => {
  await daemon?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

async function deviceClient(cn: string): Promise<MqttClient> {
  const c = ca.client(cn);
  return mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
    clientId: cn,
    reconnectPeriod: 0,
    ca: readFileSync(ca.cert),
    cert: readFileSync(c.cert),
    key: readFileSync(c.key),
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${plainUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('daemon with TLS', () => {
  it('says in its start summary which listeners use TLS', () => {
    expect(daemon.stdout()).toContain(`  http:       127.0.0.1:${daemon.httpPort} (HTTPS, TLS); ${plainUrl.slice('http://'.length)} (plain HTTP, loopback only)\n`);
    expect(daemon.stdout()).toContain(`  dashboard:  https://127.0.0.1:${daemon.httpPort}/\n`);
    expect(daemon.stdout()).toContain(
      `  mqtt:       127.0.0.1:${daemon.mqttPort} (embedded broker, plain TCP, no TLS, no auth); 127.0.0.1:${tlsPort} (embedded broker, TLS, client certificates required)\n`,
    );
  });

  it('answers over HTTPS to a client with the CA and refuses one without it', async () => {
    const https = `https://127.0.0.1:${daemon.httpPort}`;
    const res = await request(`${https}/healthz`, { dispatcher: new Agent({ connect: { ca: readFileSync(ca.cert) } }) });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ status: 'ok' });
    await expect(request(`${https}/healthz`)).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    // The daemon reads the client's abort a moment after the client gave up: wait for the count.
    const until = Date.now() + 10_000;
    let aborted = 0;
    while ((aborted = await metric('lmj_tls_handshake_failures_total{listener="http",reason="peer_aborted"}')) < 1 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(aborted).toBe(1);
  });

  it('stores a device reading over TLS and refuses its certificate on another device topic', async () => {
    const c = await deviceClient('sensor-1');
    try {
      await c.publishAsync('devices/sensor-1/telemetry', JSON.stringify({ t: 20.5, seq: 1 }), { qos: 1 });
      await c.publishAsync('devices/sensor-2/telemetry', JSON.stringify({ t: -1, seq: 2 }), { qos: 1 });
    } finally {
      await c.endAsync();
    }
    const latest = (await (await fetch(`${plainUrl}/devices/sensor-1/latest`)).json()) as { values: Record<string, unknown> };
    expect(latest.values).toMatchObject({ t: 20.5 });
    expect((await fetch(`${plainUrl}/devices/sensor-2/latest`)).status).toBe(404);
    expect(await metric('lmj_mqtt_acl_denied_total{reason="cert_cn"}')).toBe(1);
    const letters = (await (await fetch(`${plainUrl}/deadletters`)).json()) as { deadLetters: { code: string; deviceId: string }[] };
    expect(letters.deadLetters.map((l) => [l.code, l.deviceId])).toEqual([['ACL_DENIED', 'sensor-2']]);
  });

  it('refuses to start with a key that is not the certificate’s, naming the file', async () => {
    const other = ca.server('other');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = execFile(process.execPath, [CLI, 'start', '--data', join(dir, 'data2'), '--mqtt-port', '0', '--http-port', '0', '--tls-cert', server.cert, '--tls-key', other.key], (err, _out, se) =>
        resolve({ code: err === null ? 0 : (p.exitCode ?? null), stderr: se }),
      );
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain('TLS_KEY_MISMATCH');
    expect(stderr).toContain(other.key);
  });
});
