/**
 * Installs lmj-edge as a systemd service: the config file (kept when one exists), the
 * unit, the service user and the data directory. `--dry-run` prints what it would
 * write and changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmjError } from '../../errors.js';
import { defaultConfig, loadConfig } from '../../gateway/config/index.js';
import { limitNofile, renderUnit, SERVICE_DEFAULT_MAX_OPEN } from './unit.js';

/** Options of {@link installService}. */
export interface InstallServiceOptions {
  user: string;
  dataDir: string;
  configFile: string;
  unitDir: string;
  dryRun: boolean;
  /** Absolute path of bin/lmj-edge.js (default: the one of this installation). */
  bin?: string;
  /** Node binary (default: the running one). */
  node?: string;
}

/** What was (or, dry, would be) written. */
export interface InstallServiceResult {
  unitPath: string;
  unit: string;
  configFile: string;
  /** The config text written, or undefined when an existing file was kept. */
  configWritten: string | undefined;
  limitNofile: number;
  userCreated: boolean;
}

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** bin/lmj-edge.js of this installation (dist/src/cli/service/ → package root). */
function installedBin(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'lmj-edge.js');
}

function badArg(message: string): LmjError {
  return new LmjError('BAD_CONFIG', message);
}

function userExists(user: string): boolean {
  return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[0] === user);
}

function ids(user: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === user);
  const f = line?.split(':');
  return f === undefined ? undefined : { uid: Number(f[2]), gid: Number(f[3]) };
}

function writeAtomic(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** The config a fresh service starts from: embedded defaults, this data dir, an explicit pool cap. */
function freshConfig(dataDir: string): string {
  const d = defaultConfig();
  const cfg = {
    dataDir,
    durability: d.durability,
    mqtt: { host: d.mqtt.host, port: d.mqtt.port },
    http: { host: d.http.host, port: d.http.port },
    maxOpenInstances: SERVICE_DEFAULT_MAX_OPEN,
  };
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

/** Writes (or with dryRun only computes) the config file and the unit; see the module comment. */
export function installService(o: InstallServiceOptions): InstallServiceResult {
  if (!USER_RE.test(o.user)) throw badArg(`install-service: --user ${JSON.stringify(o.user)} is not a valid user name`);
  for (const [flag, p] of [['--data', o.dataDir], ['--config', o.configFile], ['--unit-dir', o.unitDir]] as const) {
    if (!isAbsolute(p)) throw badArg(`install-service: ${flag} must be an absolute path, got ${JSON.stringify(p)}`);
  }
  const bin = o.bin ?? installedBin();
  if (!existsSync(bin)) throw badArg(`install-service: ${bin} not found (is lmj-edge built?)`);
  const configWritten = existsSync(o.configFile) ? undefined : freshConfig(o.dataDir);
  // Size the unit from the config the service will really load (an existing file wins).
  const config = configWritten === undefined ? loadConfig({ file: o.configFile }) : loadConfig({ flags: {} });
  if (configWritten === undefined && config.dataDir !== o.dataDir) {
    throw badArg(`install-service: ${o.configFile} sets dataDir ${config.dataDir}, not --data ${o.dataDir}`);
  }
  const cap = configWritten !== undefined ? SERVICE_DEFAULT_MAX_OPEN : config.maxOpenInstances;
  const maxOpen = cap > 0 ? cap : SERVICE_DEFAULT_MAX_OPEN;
  const nofile = limitNofile({ maxOpenInstances: maxOpen, durability: config.durability, maxConnections: config.mqtt.maxConnections });
  const unit = renderUnit({
    user: o.user,
    dataDir: o.dataDir,
    configFile: o.configFile,
    node: o.node ?? process.execPath,
    bin,
    limitNofile: nofile,
    maxOpenOverride: cap > 0 ? undefined : SERVICE_DEFAULT_MAX_OPEN,
  });
  const unitPath = join(o.unitDir, 'lmj-edge.service');
  let userCreated = false;
  if (!o.dryRun) {
    const root = process.getuid?.() === 0;
    if (root && !userExists(o.user)) {
      execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', o.dataDir, '--shell', '/usr/sbin/nologin', o.user]);
      userCreated = true;
    }
    if (configWritten !== undefined) writeAtomic(o.configFile, configWritten, 0o640);
    writeAtomic(unitPath, unit, 0o644);
    mkdirSync(o.dataDir, { recursive: true, mode: 0o750 });
    const owner = root ? ids(o.user) : undefined;
    if (owner !== undefined) {
      chownSync(o.dataDir, owner.uid, owner.gid);
      if (configWritten !== undefined) chownSync(o.configFile, 0, owner.gid);
    }
  }
  return { unitPath, unit, configFile: o.configFile, configWritten, limitNofile: nofile, userCreated };
}
