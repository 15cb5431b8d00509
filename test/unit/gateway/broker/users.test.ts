import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../../src/errors.js';
import { hashPasswordLine, UserTable } from '../../../../src/gateway/broker/users.js';

describe('UserTable', () => {
  it('accepts the right password only', async () => {
    const line = await hashPasswordLine('alice', 's3cret');
    const table = UserTable.parse(`# users\n${line}\n`);
    expect(table.size).toBe(1);
    expect(await table.check('alice', Buffer.from('s3cret'))).toBe(true);
    expect(await table.check('alice', Buffer.from('s3cret!'))).toBe(false);
    expect(await table.check('bob', Buffer.from('s3cret'))).toBe(false);
    expect(await table.check('alice', undefined)).toBe(false);
    expect(await table.check(undefined, undefined)).toBe(false);
  });

  it('refuses malformed files with BAD_CONFIG naming the line', () => {
    for (const text of ['', '# only comments', 'alice:plain:x', 'alice:scrypt:1000:8:1:AAAA:AAAA']) {
      let err: unknown;
      try {
        UserTable.parse(text);
      } catch (e) {
        err = e;
      }
      expect(isLmjError(err, 'BAD_CONFIG')).toBe(true);
    }
  });
});

describe('users-file device mapping', () => {
  it('maps a user to the devices of its device= field, or to the device named like it', async () => {
    const table = UserTable.parse(
      [
        await hashPasswordLine('sensor-1', 'a'),
        await hashPasswordLine('gw', 'b', ['room-a', 'room-b']),
        await hashPasswordLine('all', 'c', ['*']),
      ].join('\n'),
    );
    expect(await table.authenticate('sensor-1', Buffer.from('a'))).toEqual({ username: 'sensor-1', devices: new Set(['sensor-1']) });
    expect(await table.authenticate('gw', Buffer.from('b'))).toEqual({ username: 'gw', devices: new Set(['room-a', 'room-b']) });
    expect(await table.authenticate('all', Buffer.from('c'))).toEqual({ username: 'all', devices: 'any' });
    expect(await table.authenticate('gw', Buffer.from('a'))).toBeUndefined();
  });

  it('refuses a malformed mapping and bad --device values', async () => {
    const line = await hashPasswordLine('x', 'pw');
    for (const field of ['devices=a', 'device=', 'device=a,,b', 'device=../etc', 'device=*,a']) {
      expect(() => UserTable.parse(`${line}:${field}`)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
    await expect(hashPasswordLine('x', 'pw', ['bad id'])).rejects.toMatchObject({ code: 'BAD_DEVICE_ID' });
    await expect(hashPasswordLine('a:b', 'pw')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
