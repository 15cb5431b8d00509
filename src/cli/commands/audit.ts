/**
 * `lmj-edge audit <device> [--repair]`: finds ghost members (a `main` value whose
 * name is not registered: corruption) in the device's instance; `--repair`
 * deletes them in one write transaction. Works on `--data DIR` directly.
 * Exit 0 when clean (or repaired), 3 when ghosts remain.
 */
import type { Command } from 'commander';
import { getCodec } from '../../codec/index.js';
import { LmjError } from '../../errors.js';
import { assertDeviceId } from '../../devices/device-id.js';
import { withDevice } from '../local-store.js';
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
        const result = await withDevice(
          flags.data,
          id,
          (store) => {
            const ghosts = store.read((txn) => txn.audit());
            const repaired = flags.repair === true && ghosts.length > 0 ? store.write((txn) => txn.repair()) : 0;
            return {
              device: id,
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
