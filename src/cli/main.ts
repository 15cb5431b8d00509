/**
 * The `lmj-edge` command (bin/lmj-edge.js imports the compiled form of this file).
 * Subcommands: start, devices, inspect, audit, salvage, query, hash-password, token, router, node, status, cluster, install-service, and — from
 * firmware-sim — sim and verify.
 */
// Must stay the first import: it sizes the libuv threadpool before anything starts it.
import './threadpool.js';
import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCluster } from './commands/cluster.js';
import { registerDevices } from './commands/devices.js';
import { registerHashPassword } from './commands/hash-password.js';
import { registerInstallService } from './commands/install-service.js';
import { registerInspect } from './commands/inspect.js';
import { registerSalvage } from './commands/salvage.js';
import { registerQuery } from './commands/query.js';
import { registerRetention } from './commands/retention.js';
import { registerStart } from './commands/start.js';
import { registerToken } from './commands/token.js';
import { registerNode } from './node-command.js';
import { registerRouter } from './router-command.js';
import { registerStatus } from './status-command.js';
import { registerSimCommands } from './sim.js';

const program = new Command('lmj-edge')
  .description('IoT edge daemon: MQTT telemetry into per-device LMJCore stores, local queries')
  .version('0.1.0')
  .showHelpAfterError();
registerStart(program);
registerDevices(program);
registerInspect(program);
registerAudit(program);
registerSalvage(program);
registerQuery(program);
registerRetention(program);
registerHashPassword(program);
registerToken(program);
registerRouter(program);
registerNode(program);
registerStatus(program);
registerCluster(program);
registerInstallService(program);
// The simulator pulls in its own dependencies: load it only when it may be used.
const first = process.argv[2];
if (first === undefined || ['sim', 'verify', 'help', '--help', '-h'].includes(first)) {
  await registerSimCommands(program);
}

await program.parseAsync(process.argv);
