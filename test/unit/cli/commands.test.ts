/** The compiled `lmj-edge` CLI as a real process: help, config errors, data-dir commands. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { open } from 'lmdb';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserTable } from '../../../src/gateway/broker/users.js';
import { createIngestor } from '../../../src/gateway/ingest/index.js';
import { assertBuilt, CLI, ROOT } from '../../helpers/daemon.js';
import { overwriteAllDataPages, overwriteMiddleLeaf, writeInstance } from '../../helpers/corrupt-instance.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const run = promisify(execFile);

/** Runs the CLI; resolves with exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'silent' } });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function populated(): Promise<string> {
  const dir = tmpDir();
  const ingestor = await createIngestor({ dataDir: dir });
  for (let i = 0; i < 3; i++) {
    await ingestor.submit({ topic: 'devices/cli-1/telemetry', payload: Buffer.from(JSON.stringify({ temp: 20 + i })), qos: 1 });
  }
  await ingestor.submit({ topic: 'devices/cli-2/telemetry', payload: Buffer.from('{"x":true}'), qos: 1 });
  await ingestor.close();
  return dir;
}

beforeAll(() => assertBuilt());

describe('lmj-edge CLI', () => {
  it('has --help for every command', async () => {
    const cmds = ['start', 'devices', 'inspect', 'audit', 'salvage', 'query', 'hash-password'];
    const results = await Promise.all(cmds.map((cmd) => cli([cmd, '--help'])));
    for (const [i, cmd] of cmds.entries()) {
      expect(results[i]!.code, cmd).toBe(0);
      expect(results[i]!.stdout, cmd).toContain(`Usage: lmj-edge ${cmd}`);
    }
  });

  it('refuses bad configuration with BAD_CONFIG, the key and exit code 2', async () => {
    const [r1, r2] = await Promise.all([
      cli(['start', '--data', tmpDir(), '--mqtt-port', '99999']),
      cli(['start', '--data', tmpDir(), '--mqtt-host', '0.0.0.0']),
    ]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('BAD_CONFIG');
    expect(r1.stderr).toContain('mqtt.port');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('credentials are required');
  });

  it('hash-password prints a users-file line that verifies', async () => {
    const r = await cli(['hash-password', 'sensor-7'], 'hunter2\n');
    expect(r.code).toBe(0);
    const table = UserTable.parse(r.stdout);
    expect(await table.check('sensor-7', Buffer.from('hunter2'))).toBe(true);
  });

  it('devices and inspect read a data directory', async () => {
    const dir = await populated();
    const list = await cli(['devices', '--data', dir, '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).devices).toEqual([
      { id: 'cli-1', lastSeen: expect.any(Number), readings: 3 },
      { id: 'cli-2', lastSeen: expect.any(Number), readings: 1 },
    ]);
    const [table, summary, missing, bad] = await Promise.all([
      cli(['devices', '--data', dir]),
      cli(['inspect', 'cli-1', '--data', dir]),
      cli(['inspect', 'nobody', '--data', dir]),
      cli(['inspect', '../etc', '--data', dir]),
    ]);
    expect(table.stdout.split('\n')[0]).toMatch(/^DEVICE\s+LAST SEEN\s+READINGS$/);
    expect(summary.code).toBe(0);
    const s = JSON.parse(summary.stdout);
    expect(s).toMatchObject({ id: 'cli-1', readings: 3 });
    const ent = await cli(['inspect', 'cli-1', s.pointers.latest, '--data', dir]);
    expect(JSON.parse(ent.stdout)).toMatchObject({ type: 'object', exists: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('BAD_DEVICE_ID');
    // Seven CLI processes, four of them at once, on a two-core machine.
  }, 120_000);

  it('audit finds ghost members and --repair removes them', async () => {
    const dir = await populated();
    const clean = await cli(['audit', 'cli-1', '--data', dir]);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({
      device: 'cli-1',
      instance: { status: 'ok', main: expect.any(Number), set: expect.any(Number), bytes: expect.any(Number) },
      ghosts: [],
      repaired: 0,
    });
    // Corrupt: a `main` value under the root pointer whose name is not registered.
    const env = open(join(dir, 'devices', 'cli-1'), { maxDbs: 4 } as never);
    const main = env.openDB('main', { keyEncoding: 'binary', encoding: 'binary' } as never);
    const root = Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16)]);
    main.putSync(Buffer.concat([root, Buffer.from('ghost')]), Buffer.from([0xf6]));
    await env.close();
    const found = await cli(['audit', 'cli-1', '--data', dir]);
    expect(found.code).toBe(3);
    expect(JSON.parse(found.stdout).ghosts).toEqual([{ ptr: root.toString('hex'), name: 'ghost', nameHex: '67686f7374', valueBytes: 1 }]);
    const repaired = await cli(['audit', 'cli-1', '--data', dir, '--repair']);
    expect(repaired.code).toBe(0);
    expect(JSON.parse(repaired.stdout).repaired).toBe(1);
    expect(JSON.parse((await cli(['audit', 'cli-1', '--data', dir])).stdout).ghosts).toEqual([]);
  });

  it('audit reports a corrupt instance (data pages overwritten, meta pages intact) without crashing', { timeout: 60_000 }, async () => {
    const dir = await populated();
    overwriteAllDataPages(join(dir, 'devices', 'cli-1'));
    const r = await cli(['audit', 'cli-1', '--data', dir]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/STORE_CORRUPT: device cli-1/);
    expect(r.stderr).toMatch(/lmj-edge salvage cli-1/);
    expect(JSON.parse(r.stdout)).toMatchObject({ device: 'cli-1', instance: { status: 'corrupt', reason: expect.any(String) } });
    // The other device is untouched.
    expect((await cli(['audit', 'cli-2', '--data', dir])).code).toBe(0);
  });

  it('salvage copies what is readable and swaps it in only with --swap', { timeout: 240_000 }, async () => {
    const dir = tmpDir();
    const instance = join(dir, 'devices', 'big');
    await writeInstance(instance, 3000);
    overwriteMiddleLeaf(instance, 'main');
    expect((await cli(['audit', 'big', '--data', dir])).code).toBe(4);

    const dry = await cli(['salvage', 'big', '--data', dir]);
    expect(dry.code).toBe(3);
    const report = JSON.parse(dry.stdout);
    expect(report).toMatchObject({ complete: false, verdict: { status: 'ok' }, swapped: null });
    expect(report.main.copied).toBeLessThan(6000);
    expect(report.main.lost.length).toBeGreaterThan(0);
    expect(existsSync(report.dest)).toBe(true);
    // Without --swap the corrupt instance stays where it was.
    expect((await cli(['audit', 'big', '--data', dir])).code).toBe(4);

    const swap = await cli(['salvage', 'big', '--data', dir, '--swap']);
    expect(swap.code).toBe(3);
    const swapped = JSON.parse(swap.stdout).swapped;
    expect(swapped.instance).toBe(instance);
    expect(readdirSync(join(dir, 'quarantine'))).toEqual([expect.stringMatching(/^big-/)]);
    expect(existsSync(join(swapped.quarantined, 'data.mdb'))).toBe(true);
    const after = await cli(['audit', 'big', '--data', dir]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).instance.main).toBe(report.main.copied);
  });
});
