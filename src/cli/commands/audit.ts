/**
 * `lmj-edge audit <device> [--repair]`: first verifies the device's instance in a
 * child process (a full walk: a corrupt page, which can abort a process reading
 * it, ends only the child), then finds ghost members (a `main` value whose name
 * is not registered) in it; `--repair` deletes them in one write transaction.
 * Works on `--data DIR` directly.
 * Exit 0 when clean (or repaired), 3 when ghosts remain, 4 when the instance is
 * corrupt (see `lmj-edge salvage`), 5 when it could not be verified.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { getCodec } from '../../codec/index.js';
import { verifyInstance } from '../../core/verify/index.js';
import { LmjError } from '../../errors.js';
import { assertDeviceId } from '../../devices/device-id.js';
import { devicePath, withDevice } from '../local-store.js';
import { fail, printJson } from '../output.js';

interface Flags {
  data?: string;
  repair?: boolean;
}

/** Adds the `audit` command. */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('find ghost members in a device instance (--repair deletes them)')
    .argument('<device>', 'device id')
    .option('--data <dir>', 'data directory')
    .option('--repair', 'delete the ghost members found, in one transaction')
    .action(async (device: string, flags: Flags) => {
      try {
        const id = assertDeviceId(device);
        if (flags.data === undefined) throw new LmjError('BAD_REQUEST', 'give --data DIR');
        const codec = getCodec();
        const instance = await verifyOrExit(flags.data, id);
        const result = await withDevice(
          flags.data,
          id,
          (store) => {
            const ghosts = store.read((txn) => txn.audit());
            const repaired = flags.repair === true && ghosts.length > 0 ? store.write((txn) => txn.repair()) : 0;
            return {
              device: id,
              instance,
              ghosts: ghosts.map((g) => ({
                ptr: codec.formatPointer(g.ptr),
                name: g.name.toString('utf8'),
                nameHex: g.name.toString('hex'),
                valueBytes: g.value.length,
              })),
              repaired,
            };
          },
          flags.repair === true,
        );
        printJson(result);
        if (result.ghosts.length > 0 && result.repaired < result.ghosts.length) process.exitCode = 3;
      } catch (err) {
        fail(err);
      }
    });
}

/**
 * Verifies the instance in a child; on anything but ok prints the verdict, says
 * what to do on stderr and exits (4 corrupt, 5 unverifiable). NOT_FOUND as usual.
 */
async function verifyOrExit(dataDir: string, id: string): Promise<Awaited<ReturnType<typeof verifyInstance>>> {
  const path = devicePath(dataDir, id);
  if (!existsSync(join(path, 'data.mdb'))) throw new LmjError('NOT_FOUND', `no device ${id} in ${dataDir}`, { details: { deviceId: id } });
  const instance = await verifyInstance(path);
  if (instance.status === 'ok') return instance;
  printJson({ device: id, instance });
  if (instance.status === 'corrupt') {
    process.stderr.write(
      `lmj-edge: STORE_CORRUPT: device ${id}: ${instance.reason}\n` +
        `lmj-edge: copy what is readable into a fresh instance with: lmj-edge salvage ${id} --data ${dataDir}\n`,
    );
    process.exit(4);
  }
  process.stderr.write(`lmj-edge: STORE_IO: device ${id} could not be verified: ${instance.reason}\n`);
  process.exit(5);
}
