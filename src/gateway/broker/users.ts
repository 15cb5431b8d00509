/**
 * MQTT credentials for the embedded broker: a users file of scrypt hashes, one
 * user per line, `username:scrypt:N:r:p:<salt base64>:<hash base64>[:device=<id>,<id>…]`
 * (`#` starts a comment). The optional last field names the devices the user may
 * publish for (`device=*`: all); without it, the device named like the user (./acl.ts).
 * `lmj-edge hash-password [--device ID]` prints such a line.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isValidDeviceId } from '../../devices/device-id.js';
import { LmjError } from '../../errors.js';
import { userIdentity, type MqttIdentity } from './acl.js';

interface UserEntry {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
  /** `device=` mapping; undefined = the device named like the user. */
  devices: readonly string[] | '*' | undefined;
}

const KEY_LEN = 32;

function scrypt(password: Buffer, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem sized for the parameters so a valid large N does not fail with "memory limit exceeded".
    scryptCb(password, salt, KEY_LEN, { ...opts, maxmem: 256 * (opts.N ?? 16384) * (opts.r ?? 8) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** A loaded users file: checks username/password pairs. */
export class UserTable {
  private constructor(private readonly users: Map<string, UserEntry>) {}

  /** Number of users. */
  get size(): number {
    return this.users.size;
  }

  /** Parses users file text; throws BAD_CONFIG naming the bad line. */
  static parse(text: string, origin = 'users file'): UserTable {
    const users = new Map<string, UserEntry>();
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const parts = line.split(':');
      const fail = (why: string): never => {
        throw new LmjError('BAD_CONFIG', `${origin} line ${i + 1}: ${why}`, {
          details: { key: 'mqtt.usersFile', source: 'file', reason: why, line: i + 1 },
        });
      };
      if ((parts.length !== 7 && parts.length !== 8) || parts[1] !== 'scrypt') fail('expected username:scrypt:N:r:p:salt:hash[:device=ID,…]');
      const [name, , n, r, p, salt, hash, mapping] = parts as [string, string, string, string, string, string, string, string | undefined];
      if (name === '') fail('empty username');
      const N = Number(n);
      const R = Number(r);
      const P = Number(p);
      if (!Number.isInteger(N) || N < 1024 || (N & (N - 1)) !== 0) fail('N must be a power of two ≥ 1024');
      if (!Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) fail('bad r or p');
      const hashBuf = Buffer.from(hash, 'base64');
      if (hashBuf.length !== KEY_LEN) fail(`hash must be ${KEY_LEN} bytes`);
      if (users.has(name)) fail(`duplicate user ${name}`);
      const devices = mapping === undefined ? undefined : parseDeviceMapping(mapping);
      if (devices === null) fail('the last field must be device=* or device=ID[,ID…] with valid device ids');
      users.set(name, { N, r: R, p: P, salt: Buffer.from(salt, 'base64'), hash: hashBuf, devices: devices ?? undefined });
    }
    if (users.size === 0) {
      throw new LmjError('BAD_CONFIG', `${origin} defines no users`, {
        details: { key: 'mqtt.usersFile', source: 'file', reason: 'no users' },
      });
    }
    return new UserTable(users);
  }

  /** Reads and parses a users file. */
  static load(path: string): UserTable {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new LmjError('BAD_CONFIG', `cannot read users file ${path}: ${(err as Error).message}`, {
        cause: err,
        details: { key: 'mqtt.usersFile', source: 'file', reason: 'unreadable' },
      });
    }
    return UserTable.parse(text, path);
  }

  /** True when the password matches. Unknown users cost the same scrypt run, so timing does not reveal names. */
  async check(username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    return (await this.authenticate(username, password)) !== undefined;
  }

  /** The client's identity (its devices, ./acl.ts) when the password matches; else undefined. */
  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<MqttIdentity | undefined> {
    const entry = username === undefined ? undefined : this.users.get(username);
    const probe = entry ?? { N: 16384, r: 8, p: 1, salt: Buffer.alloc(16), hash: Buffer.alloc(KEY_LEN) };
    const key = await scrypt(password ?? Buffer.alloc(0), probe.salt, { N: probe.N, r: probe.r, p: probe.p });
    const ok = entry !== undefined && username !== undefined && password !== undefined && timingSafeEqual(key, entry.hash);
    return ok ? userIdentity(username, entry.devices) : undefined;
  }
}

/** `device=*` or `device=a,b`; null when malformed. */
function parseDeviceMapping(field: string): readonly string[] | '*' | null {
  if (!field.startsWith('device=')) return null;
  const value = field.slice('device='.length);
  if (value === '*') return '*';
  const ids = value.split(',');
  return ids.length > 0 && ids.every(isValidDeviceId) ? ids : null;
}

/**
 * A users-file line for `username` with a fresh salt (N=16384, r=8, p=1); `devices`
 * adds the `device=` mapping (`['*']` = all devices).
 */
export async function hashPasswordLine(username: string, password: string, devices: readonly string[] = []): Promise<string> {
  if (username === '' || username.includes(':') || /\s/.test(username)) {
    throw new LmjError('BAD_REQUEST', 'username must be non-empty, without ":" or spaces');
  }
  const mapping = devices.length === 0 ? '' : `:device=${devices.join(',')}`;
  if (mapping !== '' && parseDeviceMapping(mapping.slice(1)) === null) {
    throw new LmjError('BAD_DEVICE_ID', `--device must be * or valid device ids, got ${JSON.stringify(devices.join(','))}`);
  }
  const salt = randomBytes(16);
  const hash = await scrypt(Buffer.from(password, 'utf8'), salt, { N: 16384, r: 8, p: 1 });
  return `${username}:scrypt:16384:8:1:${salt.toString('base64')}:${hash.toString('base64')}${mapping}`;
}
