/**
 * `lmj-edge salvage <device> --data DIR [--out DIR] [--swap]`: copies whatever is
 * still readable of a corrupt device instance into a fresh instance (every read in
 * a child process, so a bad page ends only that child) and prints the report:
 * entries copied per database, the key ranges lost, ghost members left, and the
 * verification of the copy. The copy goes to `--out` (default
 * `DIR/salvage/<device>-<time>`); only with `--swap` does it replace the device's
 * instance, the corrupt one moving to `DIR/quarantine/<device>-<time>`, and it
 * releases the device's quarantine (`DIR/gateway/quarantined/<device>.json`, written by
 * the daemon when verification found the instance corrupt). Stop the daemon before
 * `--swap`, unless the device is quarantined: the daemon never maps a quarantined
 * instance, and serves the swapped-in one from its next message on.
 * Exit 0 when everything was copied, 3 when something was lost, 1 on errors.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { salvageInstance } from '../../core/verify/index.js';
import { LmjError } from '../../errors.js';
import { assertDeviceId } from '../../devices/device-id.js';
import { QuarantineStore } from '../../devices/pool/quarantine.js';
import { quarantinedDir } from '../../gateway/layout.js';
import { devicePath } from '../local-store.js';
import { fail, printJson } from '../output.js';

interface Flags {
  data?: string;
  out?: string;
  swap?: boolean;
}

/** Adds the `salvage` command. */
export function registerSalvage(program: Command): void {
  program
    .command('salvage')
    .description('copy what is readable of a corrupt device instance into a fresh one (--swap puts it in place)')
    .argument('<device>', 'device id')
    .option('--data <dir>', 'data directory')
    .option('--out <dir>', 'where to write the copy (must not exist; default DIR/salvage/<device>-<time>)')
    .option('--swap', 'replace the device instance with the copy (the corrupt one goes to DIR/quarantine/) and release its quarantine; stop the daemon first unless the device is quarantined')
    .action(async (device: string, flags: Flags) => {
      try {
        const id = assertDeviceId(device);
        if (flags.data === undefined) throw new LmjError('BAD_REQUEST', 'give --data DIR');
        const source = resolve(devicePath(flags.data, id));
        if (!existsSync(join(source, 'data.mdb'))) throw new LmjError('NOT_FOUND', `no device ${id} in ${flags.data}`, { details: { deviceId: id } });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const out = resolve(flags.out ?? join(flags.data, 'salvage', `${id}-${stamp}`));
        mkdirSync(dirname(out), { recursive: true });
        const report = await salvageInstance(source, out);
        let swapped: { instance: string; quarantined: string; released: boolean } | null = null;
        if (flags.swap === true) {
          if (report.verdict.status !== 'ok') throw new LmjError('STORE_CORRUPT', `the copy at ${out} did not verify; nothing swapped`);
          const quarantined = resolve(join(flags.data, 'quarantine', `${id}-${stamp}`));
          mkdirSync(dirname(quarantined), { recursive: true });
          renameSync(source, quarantined);
          renameSync(out, source);
          // Only once the fresh instance is in place: a daemon may open it as soon as the marker is gone.
          const released = new QuarantineStore(quarantinedDir(flags.data)).release(id);
          swapped = { instance: source, quarantined, released };
        }
        printJson({ device: id, ...report, swapped });
        if (!report.complete) process.exitCode = 3;
      } catch (err) {
        fail(err);
      }
    });
}
