/**
 * `lmj-edge hash-password <user> [--device ID]…`: reads a password from stdin, prints a
 * users-file line; `--device` maps the user to the devices it may publish for.
 */
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
    .argument('<user>', 'MQTT username (without --device: the device id it may publish for)')
    .option('--device <id>', 'a device this user may publish for (repeatable, or a,b; * = every device)', (v: string, prev: string[]) => [...prev, ...v.split(',')], [] as string[])
    .action(async (user: string, flags: { device: string[] }) => {
      try {
        const password = await readStdin();
        if (password === '') throw new Error('empty password on stdin');
        process.stdout.write(`${await hashPasswordLine(user, password, flags.device)}\n`);
      } catch (err) {
        fail(err, 2);
      }
    });
}
