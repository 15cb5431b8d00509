/**
 * Credentials end to end with the real `lmj-edge` processes: `token create|list|revoke`
 * and `hash-password --device` make the files, a daemon started with them answers only
 * the right token and enforces the MQTT ACL, a revoked token stops working while the
 * daemon runs, and a non-loopback HTTP listener without API tokens refuses to start.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../../src/http/api-tokens.js';
import { CLI, ROOT, startDaemon } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const run = promisify(execFile);

function cli(args: string[], input?: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const p = run(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  p.child.stdin?.end(input ?? '');
  return p;
}

async function status(url: string, token?: string): Promise<number> {
  const res = await request(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  await res.body.dump();
  return res.statusCode;
}

describe('lmj-edge credentials', () => {
  it('token create/list/revoke, hash-password --device, and a daemon that enforces them', async () => {
    const dir = tmpDir('lmj-auth-e2e-');
    const tokens = join(dir, 'api-tokens.json');
    const users = join(dir, 'users');
    // Independent steps run in parallel: each CLI run is a Node start.
    const [viewer, line] = await Promise.all([
      cli(['token', 'create', '--scope', 'read', '--name', 'viewer', '--api-tokens', tokens]),
      cli(['hash-password', 'gw-bridge', '--device', 'room-a', '--device', 'room-b'], 'pw\n'),
    ]);
    const readToken = viewer.stdout.trim();
    expect(readToken).toMatch(/^lmj_[A-Za-z0-9_-]{43}$/);
    expect(viewer.stderr).toMatch(/token viewer \(scope read\) added/);
    // The second token through the library (the same code the CLI runs), appended to the same file.
    const adminToken = createApiToken(tokens, 'admin').token;
    expect(readFileSync(tokens, 'utf8')).not.toContain(readToken);
    expect(line.stdout).toMatch(/^gw-bridge:scrypt:16384:8:1:[^:]+:[^:]+:device=room-a,room-b\n$/);
    writeFileSync(users, line.stdout);
    const [list, d] = await Promise.all([
      cli(['token', 'list', '--api-tokens', tokens]),
      startDaemon({ dataDir: join(dir, 'data'), args: ['--api-tokens', tokens, '--mqtt-users', users] }),
    ]);
    expect(list.stdout).toMatch(/viewer\s+read/);
    expect(list.stdout).toMatch(/admin-1\s+admin/);
    expect(list.stdout).not.toContain(readToken.slice(4));

    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'bridge', username: 'gw-bridge', password: 'pw', reconnectPeriod: 0 });
    await c.publishAsync('devices/room-a/telemetry', '{"t":1}', { qos: 1 });
    await c.publishAsync('devices/room-c/telemetry', '{"t":2}', { qos: 1 });
    await c.endAsync();
    // The CLI's remote reads send LMJ_EDGE_API_TOKEN; without it they are refused.
    const [listed, refused] = await Promise.all([
      cli(['devices', '--http', d.httpUrl, '--json'], undefined, { LMJ_EDGE_API_TOKEN: readToken }),
      cli(['devices', '--http', d.httpUrl]).then(() => undefined, (e: { stderr: string }) => e.stderr),
    ]);
    expect(listed.stdout).toContain('room-a');
    expect(listed.stdout).not.toContain('room-c');
    expect(refused).toMatch(/TOKEN_MISSING/);
    expect(await status(`${d.httpUrl}/devices/room-a/latest`)).toBe(401);
    expect(await status(`${d.httpUrl}/devices/room-a/latest`, readToken)).toBe(200);
    expect(await status(`${d.httpUrl}/devices/room-c/latest`, readToken)).toBe(404);
    expect(await status(`${d.httpUrl}/deadletters`, readToken)).toBe(403);
    const metrics = await request(`${d.httpUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(await metrics.body.text()).toMatch(/lmj_mqtt_acl_denied_total\{reason="other_device"\} 1\b/);

    await cli(['token', 'revoke', 'viewer', '--api-tokens', tokens]);
    // The daemon re-reads the file within about a second; wait for the refusal, bounded.
    const deadline = Date.now() + 15_000;
    let code = 200;
    while (code === 200 && Date.now() < deadline) code = await status(`${d.httpUrl}/devices`, readToken);
    expect(code).toBe(401);
    expect(await status(`${d.httpUrl}/devices`, adminToken)).toBe(200);
    await d.kill('SIGTERM');
  }, 90_000);

  it('refuses to start a non-loopback HTTP listener without API tokens, binding nothing', async () => {
    const err = await cli(['start', '--data', tmpDir(), '--http-host', '0.0.0.0', '--http-port', '0', '--mqtt-port', '0']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/BAD_CONFIG: .*http\.apiTokensFile.*API tokens are required \(--api-tokens FILE/);
  });
});
