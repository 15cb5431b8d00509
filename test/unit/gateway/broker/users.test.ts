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
