/**
 * Loads the daemon configuration from defaults, a JSON file, `LMJ_EDGE_*` env vars
 * and command-line flags (later sources win), and validates the result. Every
 * problem becomes one BAD_CONFIG error naming the key, the source and why.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LmjError } from '../../errors.js';
import { assertApiListener } from '../../http/api-auth.js';
import { isLoopback } from '../../http/loopback.js';
import { defaultConfig, SETTINGS, type GatewayConfig, type Setting } from './schema.js';
import { parseRetentionDevices, RETENTION_DEVICES_KEY } from './retention.js';
import { syncProblem } from './sync.js';
import { resolveTlsDefaults, tlsProblem } from './tls.js';

/** Where the configuration comes from. */
export interface ConfigSources {
  /** Path of a JSON config file (`--config`). */
  file?: string | undefined;
  /** Environment (default: none; the CLI passes process.env). */
  env?: Record<string, string | undefined>;
  /** Commander option values, keyed by {@link Setting.flag}. */
  flags?: Record<string, unknown>;
}

type Source = 'default' | 'file' | 'env' | 'flag' | 'combined';

function bad(key: string, source: Source, why: string): LmjError {
  return new LmjError('BAD_CONFIG', `invalid configuration: ${key} (${source}): ${why}`, {
    details: { key, source, reason: why },
  });
}

/** Parses one raw value (from any source) for a setting, or throws BAD_CONFIG. */
function parseValue(setting: Setting, raw: unknown, source: Source): unknown {
  const { key } = setting;
  if (raw === undefined || raw === null) {
    if (setting.optional === true) return undefined;
    throw bad(key, source, 'must not be empty');
  }
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (setting.kind) {
    case 'string':
    case 'path': {
      if (typeof text !== 'string') throw bad(key, source, `expected a string, got ${typeof raw}`);
      if (text === '') {
        if (setting.optional === true) return undefined;
        throw bad(key, source, 'must not be empty');
      }
      if (text.includes('\0')) throw bad(key, source, 'contains a NUL byte');
      return setting.kind === 'path' ? resolve(text) : text;
    }
    case 'enum': {
      if (typeof text !== 'string' || !(setting.values ?? []).includes(text)) {
        throw bad(key, source, `expected one of ${(setting.values ?? []).join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return text;
    }
    case 'bool': {
      if (typeof text === 'boolean') return text;
      if (text === 'true' || text === '1' || text === 'on') return true;
      if (text === 'false' || text === '0' || text === 'off') return false;
      throw bad(key, source, `expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'port':
    case 'int': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : NaN;
      const min = setting.kind === 'port' ? 0 : (setting.min ?? Number.MIN_SAFE_INTEGER);
      const max = setting.kind === 'port' ? 65535 : (setting.max ?? Number.MAX_SAFE_INTEGER);
      if (!Number.isSafeInteger(n)) throw bad(key, source, `expected an integer, got ${JSON.stringify(raw)}`);
      if (n < min || n > max) throw bad(key, source, `must be between ${min} and ${max}, got ${n}`);
      return n;
    }
  }
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = value;
}

/** Rejects keys in the file that no setting knows about: a typo must not be silently ignored. */
function checkUnknownKeys(obj: Record<string, unknown>, prefix: string): void {
  const known = new Set(SETTINGS.map((s) => s.key));
  const groups = new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0]!));
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (prefix === '' && groups.has(k)) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(key, 'file', 'expected an object');
      checkUnknownKeys(v as Record<string, unknown>, key);
    } else if (!known.has(key) && key !== RETENTION_DEVICES_KEY) {
      throw bad(key, 'file', 'unknown setting');
    }
  }
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LmjError('BAD_CONFIG', `cannot read config file ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { key: 'config', source: 'file', reason: 'unreadable' },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LmjError('BAD_CONFIG', `config file ${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      details: { key: 'config', source: 'file', reason: 'not JSON' },
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw bad('config', 'file', 'the top level must be a JSON object');
  }
  checkUnknownKeys(parsed as Record<string, unknown>, '');
  return parsed as Record<string, unknown>;
}

/** Cross-setting rules that single values cannot express. */
function validate(cfg: GatewayConfig, sourceOf: (key: string) => Source): void {
  for (const key of ['topics.telemetry', 'topics.meta'] as const) {
    const tpl = getPath(cfg as unknown as Record<string, unknown>, key) as string;
    const levels = tpl.split('/');
    if (levels.filter((l) => l === '{deviceId}').length !== 1 || tpl.split('{deviceId}').length !== 2) {
      throw bad(key, 'combined', 'the template needs exactly one whole topic level `{deviceId}`');
    }
    if (/[+#]/.test(tpl)) throw bad(key, 'combined', 'the template must not contain MQTT wildcards');
  }
  if (cfg.topics.telemetry === cfg.topics.meta) throw bad('topics.meta', 'combined', 'must differ from topics.telemetry');
  if (cfg.broker.url !== undefined) {
    let url: URL;
    try {
      url = new URL(cfg.broker.url);
    } catch {
      throw bad('broker.url', 'combined', `not a URL: ${cfg.broker.url}`);
    }
    if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') {
      throw bad('broker.url', 'combined', `only mqtt://host:port is supported, got ${url.protocol}`);
    }
  } else if (!isLoopback(cfg.mqtt.host) && cfg.mqtt.usersFile === undefined && cfg.mqtt.clientCerts !== 'require') {
    throw bad(
      'mqtt.usersFile',
      'combined',
      `the embedded broker listens on ${cfg.mqtt.host}, beyond this machine: credentials are required (--mqtt-users FILE, see lmj-edge hash-password)`,
    );
  }
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(cfg.broker.clientId)) {
    throw bad('broker.clientId', 'combined', 'use 1..20 letters, digits, - or _');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cfg.broker.shareGroup)) {
    throw bad('broker.shareGroup', 'combined', 'use 1..64 letters, digits, - or _');
  }
  assertApiListener(cfg.http.host, cfg.http.apiTokensFile !== undefined, 'http.apiTokensFile', '--api-tokens');
  const problem = syncProblem(cfg);
  if (problem !== undefined) throw bad(problem.key, sourceOf(problem.key), problem.reason);
  const tls = tlsProblem(cfg);
  if (tls !== undefined) throw bad(tls.key, sourceOf(tls.key), tls.reason);
}

/**
 * Builds the configuration: defaults, then the file, then env, then flags.
 * Throws LmjError BAD_CONFIG (details: key, source, reason) on the first problem.
 */
export function loadConfig(sources: ConfigSources = {}): GatewayConfig {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  const file = sources.file === undefined ? undefined : readFile(sources.file);
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const origin = new Map<string, Source>();
  for (const setting of SETTINGS) {
    if (file !== undefined) {
      const raw = getPath(file, setting.key);
      if (raw !== undefined) {
        setPath(cfg, setting.key, parseValue(setting, raw, 'file'));
        origin.set(setting.key, 'file');
      }
    }
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined) {
      setPath(cfg, setting.key, parseValue(setting, fromEnv, 'env'));
      origin.set(setting.key, 'env');
    }
    const fromFlag = setting.flag === undefined ? undefined : flags[setting.flag];
    if (fromFlag !== undefined) {
      setPath(cfg, setting.key, parseValue(setting, fromFlag, 'flag'));
      origin.set(setting.key, 'flag');
    }
  }
  const out = cfg as unknown as GatewayConfig;
  if (file !== undefined) out.retention.devices = parseRetentionDevices(getPath(file, RETENTION_DEVICES_KEY), (k, why) => bad(k, 'file', why));
  validate(out, (key) => origin.get(key) ?? 'default');
  resolveTlsDefaults(out);
  return out;
}
