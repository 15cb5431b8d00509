/**
 * The `lmj-edge` command (bin/lmj-edge.js imports the compiled form of this file).
 * Subcommands: start, devices, inspect, audit, salvage, query, hash-password, token, router, node, status, cluster, install-service, and — from
 * firmware-sim — sim and verify.
 */
// Must stay the first import: it sizes the libuv threadpool before anything starts it.
import './threadpool.js';
import { Command } from 'commander';

type Register = (program: Command) => void | Promise<void>;

/**
 * Every top-level command and the module that registers it, in help order. Each module
 * pulls in its own dependencies (fastify, etcd3, the SQL parser, the simulator…): loading
 * all of them cost ~0.5 s of CPU at every start, so a command line naming one command
 * loads only that one; help, --version and unknown commands load them all.
 */
const COMMANDS: ReadonlyArray<readonly [string[], () => Promise<Register>]> = [
  [['start'], async () => (await import('./commands/start.js')).registerStart],
  [['devices'], async () => (await import('./commands/devices.js')).registerDevices],
  [['inspect'], async () => (await import('./commands/inspect.js')).registerInspect],
  [['audit'], async () => (await import('./commands/audit.js')).registerAudit],
  [['salvage'], async () => (await import('./commands/salvage.js')).registerSalvage],
  [['query'], async () => (await import('./commands/query.js')).registerQuery],
  [['retention'], async () => (await import('./commands/retention.js')).registerRetention],
  [['hash-password'], async () => (await import('./commands/hash-password.js')).registerHashPassword],
  [['token'], async () => (await import('./commands/token.js')).registerToken],
  [['router'], async () => (await import('./router-command.js')).registerRouter],
  [['node'], async () => (await import('./node-command.js')).registerNode],
  [['status'], async () => (await import('./status-command.js')).registerStatus],
  [['cluster'], async () => (await import('./commands/cluster.js')).registerCluster],
  [['install-service'], async () => (await import('./commands/install-service.js')).registerInstallService],
  [['sim', 'verify'], async () => (await import('./sim.js')).registerSimCommands],
];

const program = new Command('lmj-edge')
  .description('IoT edge daemon: MQTT telemetry into per-device LMJCore stores, local queries')
  .version('0.1.0')
  .showHelpAfterError();
const first = process.argv[2];
const named = COMMANDS.find(([names]) => first !== undefined && names.includes(first));
for (const [, load] of named === undefined ? COMMANDS : [named]) await (await load())(program);

await program.parseAsync(process.argv);
