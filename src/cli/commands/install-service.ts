/** `lmj-edge install-service`: writes a hardened systemd unit and the config file. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { fail } from '../output.js';
import { installService } from '../service/install.js';

interface InstallServiceFlags {
  user: string;
  data: string;
  config: string;
  unitDir: string;
  dryRun?: boolean;
}

/** Adds the `install-service` command. */
export function registerInstallService(program: Command): void {
  program
    .command('install-service')
    .description('write a hardened systemd unit (own user, LimitNOFILE sized for the pool) and the config file')
    .option('--user <name>', 'service user, created as a system user when missing', 'lmj-edge')
    .option('--data <dir>', 'data directory', '/var/lib/lmj-edge')
    .option('--config <file>', 'config file, written only when it does not exist', '/etc/lmj-edge/config.json')
    .option('--unit-dir <dir>', 'where lmj-edge.service goes', '/etc/systemd/system')
    .option('--dry-run', 'print the unit and config instead of writing anything')
    .action((flags: InstallServiceFlags) => {
      try {
        const dryRun = flags.dryRun === true;
        const r = installService({
          user: flags.user,
          dataDir: resolve(flags.data),
          configFile: resolve(flags.config),
          unitDir: resolve(flags.unitDir),
          dryRun,
        });
        const verb = dryRun ? 'would write' : 'wrote';
        const out = process.stdout;
        if (r.configWritten === undefined) out.write(`kept existing ${r.configFile}\n`);
        else out.write(`${verb} ${r.configFile}\n${dryRun ? r.configWritten : ''}`);
        out.write(`${verb} ${r.unitPath} (LimitNOFILE=${r.limitNofile})\n${dryRun ? r.unit : ''}`);
        if (r.userCreated) out.write(`created system user ${flags.user}\n`);
        if (!dryRun) out.write('next: systemctl daemon-reload && systemctl enable --now lmj-edge\n');
      } catch (err) {
        fail(err, 2);
      }
    });
}
