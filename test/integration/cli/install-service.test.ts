/**
 * `lmj-edge install-service` as a real process into a temp dir; systemd's own
 * `systemd-analyze verify` must accept the unit without a single warning.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { limitNofile, SERVICE_DEFAULT_MAX_OPEN } from '../../../src/cli/service/unit.js';
import { defaultConfig } from '../../../src/gateway/config/index.js';
import { assertBuilt, CLI, ROOT } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** An existing unprivileged system user (systemd warns about `nobody`; creating users would change the host). */
function systemUser(): string {
  const users = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => Number(f[2]) >= 100 && Number(f[2]) < 1000 && /^[a-z_][a-z0-9_-]*$/.test(f[0] ?? ''));
  expect(users.length).toBeGreaterThan(0);
  return users[0]![0]!;
}

/** `systemd-analyze verify`: exit code and every diagnostic it printed. */
async function verify(unit: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', unit]);
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

function field(unit: string, key: string): string[] {
  return unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

beforeAll(() => assertBuilt());

describe('lmj-edge install-service', () => {
  it('writes a unit systemd-analyze verify accepts, sized for the pool, and a config with the pool cap', async () => {
    const dir = tmpDir();
    const user = systemUser();
    const data = join(dir, 'data');
    const config = join(dir, 'etc', 'config.json');
    const units = join(dir, 'units');
    const r = await cli(['install-service', '--user', user, '--data', data, '--config', config, '--unit-dir', units]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unitPath = join(units, 'lmj-edge.service');
    const unit = readFileSync(unitPath, 'utf8');
    const v = await verify(unitPath);
    expect(v.out).toBe('');
    expect(v.code).toBe(0);

    const d = defaultConfig();
    const nofile = limitNofile({ maxOpenInstances: SERVICE_DEFAULT_MAX_OPEN, durability: d.durability, maxConnections: d.mqtt.maxConnections });
    // 1024 instances × 3 fds + 10,000 sockets + 512.
    expect(nofile).toBe(1024 * 3 + 10_000 + 512);
    expect(field(unit, 'LimitNOFILE')).toEqual([String(nofile)]);
    expect(field(unit, 'User')).toEqual([user]);
    // The heap limit comes from the config (memory.heapMb), applied by `start` itself.
    expect(field(unit, 'ExecStart')).toEqual([`${process.execPath} ${join(ROOT, 'bin', 'lmj-edge.js')} start --config ${config}`]);
    expect(field(unit, 'KillMode')).toEqual(['mixed']);
    expect(field(unit, 'ReadWritePaths')).toEqual([data]);
    for (const [k, val] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['NoNewPrivileges', 'yes'], ['Restart', 'on-failure']]) {
      expect(field(unit, k!), k).toEqual([val]);
    }
    expect(field(unit, 'RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
    // Not under /var/lib: no StateDirectory=, the data dir is made here instead.
    expect(field(unit, 'StateDirectory')).toEqual([]);
    expect(statSync(data).isDirectory()).toBe(true);

    const cfg = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    expect(cfg.dataDir).toBe(data);
    expect(cfg.maxOpenInstances).toBe(SERVICE_DEFAULT_MAX_OPEN);
    const bad = await verify(unitPath.replace('lmj-edge.service', 'missing.service'));
    expect(bad.code).not.toBe(0);
  });

  it('keeps an existing config, sizes the unit from it, and uses StateDirectory= under /var/lib', async () => {
    const dir = tmpDir();
    const config = join(dir, 'config.json');
    const mine = `${JSON.stringify({ dataDir: '/var/lib/lmj-edge-test', durability: 'fast', maxOpenInstances: 100, mqtt: { maxConnections: 50 } })}\n`;
    writeFileSync(config, mine);
    const r = await cli(['install-service', '--dry-run', '--data', '/var/lib/lmj-edge-test', '--config', config, '--unit-dir', join(dir, 'u')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(mine);
    expect(r.stdout).toContain(`kept existing ${config}`);
    // 100 instances × (3 + 1 flush fd in fast mode) + 50 sockets + 512.
    expect(r.stdout).toContain(`LimitNOFILE=${100 * 4 + 50 + 512}\n`);
    expect(r.stdout).toContain('StateDirectory=lmj-edge-test\n');
    expect(r.stdout).toContain('User=lmj-edge\n');
    // Dry run: nothing written, no data dir made.
    expect(existsSync(join(dir, 'u'))).toBe(false);
    expect(existsSync('/var/lib/lmj-edge-test')).toBe(false);
  });

  it('refuses a data dir that contradicts the existing config and a bad user name, with BAD_CONFIG', async () => {
    const dir = tmpDir();
    const config = join(dir, 'config.json');
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'elsewhere') }));
    const [r1, r2] = await Promise.all([
      cli(['install-service', '--dry-run', '--data', join(dir, 'data'), '--config', config, '--unit-dir', dir]),
      cli(['install-service', '--dry-run', '--user', 'Bad User', '--data', join(dir, 'data'), '--config', join(dir, 'n.json'), '--unit-dir', dir]),
    ]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('BAD_CONFIG');
    expect(r1.stderr).toContain('sets dataDir');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('not a valid user name');
  });
});
