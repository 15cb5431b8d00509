/** `lmj-edge hash-password <user>`: reads a password from stdin, prints a users-file line. */
import type { Command } from 'commander';
import { hashPasswordLine } from '../../gateway/broker/users.js';
import { fail } from '../output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Adds the `hash-password` command. */
export function registerHashPassword(program: Command): void {
  program
    .command('hash-password')
    .description('print a users-file line (scrypt) for <user>; the password is read from stdin')
    .argument('<user>', 'MQTT username')
    .action(async (user: string) => {
      try {
        const password = await readStdin();
        if (password === '') throw new Error('empty password on stdin');
        process.stdout.write(`${await hashPasswordLine(user, password)}\n`);
      } catch (err) {
        fail(err, 2);
      }
    });
}
