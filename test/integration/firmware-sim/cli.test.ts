import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../../firmware-sim/ledger.js';
import { ROOT } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { startTestBroker, type TestBroker } from './aedes-broker.js';

const MAIN = join(ROOT, 'dist', 'firmware-sim', 'main.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  expect(existsSync(MAIN), `${MAIN} missing: run npm run build:ts`).toBe(true);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('sim CLI (standalone entry)', () => {
  it('--json prints only the JSON summary; the ledger holds the acked readings', async () => {
    broker = await startTestBroker();
    const ledger = join(tmpDir(), 'ledger.jsonl');
    const r = await cli(['sim', '--broker', broker.url, '--devices', '3', '--rate', '500', '--count', '60', '--profile', 'gps', '--format', 'cbor', '--ledger', ledger, '--seed', '4', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!);
    expect(s).toMatchObject({ devices: 3, format: 'cbor', profile: 'gps', qos: 1, published: 60, acked: 60, seed: 4 });
    expect(s.latencyMs.count).toBe(60);
    expect(readLedger(ledger).entries).toHaveLength(60);
    expect(broker.received).toHaveLength(60);
  });

  it('bad options exit 2 with a clear message; an unreachable broker exits 1', async () => {
    let r = await cli(['sim', '--broker', 'mqtt://127.0.0.1:1', '--qos', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--qos.*expected an integer in 0..1/);
    r = await cli(['sim', '--devices', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--broker <url>'/);
    r = await cli(['sim', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--ledger <file>/);
    r = await cli(['sim', '--broker', 'mqtt://127.0.0.1:1', '--profile', '/nonexistent/template.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BAD_CONFIG: cannot read template/);
    r = await cli(['sim', '--broker', 'mqtt://127.0.0.1:1', '--count', '3', '--drain-timeout', '300', '--backoff-min', '50', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ published: 3, acked: 0, unacked: 3 });
  });
});
