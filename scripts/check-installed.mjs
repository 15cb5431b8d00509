// Run by scripts/test-arm64-install.sh with the arm64 Node, in a directory where the packed
// lmj-edge was installed with `npm install <tarball>`: the native codec loads, `lmj-edge start`
// ingests one QoS 1 reading published with mqtt.js, HTTP reads it back, SIGTERM drains.
// Prints the data dir of the device for the host's mdb_stat. Every step has a deadline.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const dir = process.cwd();
const fail = (m) => {
  console.error(`check-installed: FAILED: ${m}`);
  process.exit(1);
};
const within = (ms, what, p) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: no result in ${ms} ms`)), ms).unref())]);

const { codecInfo } = await import('lmj-edge');
const info = codecInfo();
if (info.kind !== 'native') fail(`codec is ${JSON.stringify(info)}`);
console.log(`check-installed: codec ${info.kind} (requested ${info.requested})`);

const data = join(dir, 'data');
const bin = join(dir, 'node_modules', 'lmj-edge', 'bin', 'lmj-edge.js');
const daemon = spawn(process.execPath, [bin, 'start', '--data', data, '--mqtt-port', '0', '--http-port', '0', '--log-level', 'warn'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, LMJ_CODEC: 'native' },
});
let out = '';
const exited = new Promise((res) => daemon.on('exit', (code, sig) => res({ code, sig })));
const listening = new Promise((res, rej) => {
  daemon.stdout.on('data', (c) => {
    out += c;
    const m = /mqtt listening on ([\d.]+):(\d+)/.exec(out);
    const h = /http listening on ([\d.]+):(\d+)/.exec(out);
    if (m && h) res({ mqtt: Number(m[2]), http: Number(h[2]) });
  });
  void exited.then((e) => rej(new Error(`daemon exited early: ${JSON.stringify(e)}\n${out}`)));
});
try {
  const ports = await within(300_000, 'daemon start', listening);
  console.log(`check-installed: daemon up (mqtt ${ports.mqtt}, http ${ports.http})`);
  const mqtt = await import('mqtt');
  const client = await within(60_000, 'mqtt connect', mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'pi-check' }));
  await within(60_000, 'QoS 1 publish', client.publishAsync('devices/pi-1/telemetry', JSON.stringify({ env: { temp: 21.5 }, seq: 1 }), { qos: 1 }));
  await client.endAsync();
  const res = await within(60_000, 'HTTP latest', fetch(`http://127.0.0.1:${ports.http}/devices/pi-1/latest`));
  const body = await res.text();
  if (res.status !== 200 || !body.includes('21.5')) fail(`GET /devices/pi-1/latest → ${res.status} ${body}`);
  console.log(`check-installed: PUBACK received, HTTP latest: ${body}`);
  if (!/\n  codec: +native /.test(out)) fail(`start summary does not name the native codec:\n${out}`);
} catch (err) {
  daemon.kill('SIGKILL');
  fail(err.message);
}
daemon.kill('SIGTERM');
const e = await within(120_000, 'shutdown', exited);
if (e.code !== 0) fail(`daemon exit ${JSON.stringify(e)}`);
console.log(`check-installed: stopped cleanly; device store ${join(data, 'devices', 'pi-1')}`);
