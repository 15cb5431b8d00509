/** `lmj-edge inspect <device> [ptr]`: a device summary, or one entity by pointer. */
import type { Command } from 'commander';
import { getCodec } from '../../codec/index.js';
import { deviceSummary, entityView } from '../../core/telemetry/index.js';
import { LmjError } from '../../errors.js';
import { assertDeviceId } from '../../devices/device-id.js';
import { withDevice } from '../local-store.js';
import { fail, printJson } from '../output.js';
import { getJson } from '../remote.js';

interface Flags {
  data?: string;
  http?: string;
}

/** Adds the `inspect` command. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a device summary, or the entity at <ptr> (34 hex chars) in that device, as JSON')
    .argument('<device>', 'device id')
    .argument('[ptr]', 'entity pointer, 34 hex characters')
    .option('--data <dir>', 'data directory to read')
    .option('--http <url>', 'base URL of a running daemon')
    .action(async (device: string, ptr: string | undefined, flags: Flags) => {
      try {
        const id = assertDeviceId(device);
        if (flags.http !== undefined) {
          const path = ptr === undefined ? `devices/${id}` : `devices/${id}/entities/${encodeURIComponent(ptr)}`;
          return printJson(await getJson(flags.http, path));
        }
        if (flags.data === undefined) throw new LmjError('BAD_REQUEST', 'give --data DIR or --http URL');
        const p = ptr === undefined ? undefined : getCodec().parsePointer(ptr);
        const out = await withDevice(flags.data, id, (store) =>
          store.read((txn) => {
            if (p !== undefined) return entityView(txn, p);
            const s = deviceSummary(txn);
            if (s === null) throw new LmjError('NOT_FOUND', `device ${id} has no root object`);
            return s;
          }),
        );
        printJson(out);
      } catch (err) {
        fail(err);
      }
    });
}
