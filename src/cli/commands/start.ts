/**
 * `lmj-edge start`: runs the daemon until SIGTERM/SIGINT, then drains and exits 0.
 * Prints exactly `mqtt listening on H:P` (or `mqtt subscribed to URL`), with TLS
 * `mqtts listening on H:P`, with `--http-plain-port` `http plain listening on 127.0.0.1:P`,
 * and `http listening on H:P` (HTTPS when a certificate is set) on stdout, then a short summary (listeners, data dir, codec,
 * durability, upstream, dashboard URL; also logged as `started`); logs go to stderr.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../gateway/config/index.js';
import { syncOptionsOf } from '../../gateway/config/sync.js';
import { fail } from '../output.js';
import { addRetentionFlags } from '../retention-flags.js';
import { formatSummary, startSummary } from '../start-summary.js';
import { addSyncFlags } from '../sync-flags.js';
import { exitNow } from '../../codec/addon.js';
import { heapLimitInfo, onRelayedSignal } from '../heap-limit.js';
import { reexecWithHeapLimit } from '../launcher.js';

/** Options as commander hands them over (strings; the config loader validates). */
interface StartFlags {
  config?: string;
  data?: string;
  mqttHost?: string;
  mqttPort?: string;
  mqttUsers?: string;
  httpHost?: string;
  httpPort?: string;
  apiTokens?: string;
  apiLoopbackOpen?: boolean;
  broker?: string;
  durability?: string;
  journal?: string;
  logLevel?: string;
  queryMaxRows?: string;
  queryTimeout?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsHandshakeTimeout?: string;
  mqttTlsPort?: string;
  mqttTlsHost?: string;
  mqttClientCerts?: string;
  httpPlainPort?: string;
  heapMb?: string;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Adds the `start` command. */
export function registerStart(program: Command): void {
  addRetentionFlags(addSyncFlags(program.command('start')))
    .description('run the gateway daemon (embedded MQTT broker or external broker subscriber + HTTP API)')
    .option('--config <file>', 'JSON config file (flags > LMJ_EDGE_* env > file > defaults)')
    .option('--data <dir>', 'data directory (default /var/lib/lmj-edge as root, else ~/.local/share/lmj-edge)')
    .option('--mqtt-host <host>', 'embedded broker bind address (default 127.0.0.1; non-loopback requires --mqtt-users)')
    .option('--mqtt-port <port>', 'embedded broker port, 0 = any free port (default 1883)')
    .option('--mqtt-users <file>', 'users file of scrypt hashes (see lmj-edge hash-password)')
    .option('--http-host <host>', 'HTTP API bind address (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP API port, 0 = any free port (default 8080)')
    .option('--api-tokens <file>', 'API tokens file (lmj-edge token create); required for a non-loopback --http-host')
    .option('--api-loopback-open', 'with --api-tokens on a loopback --http-host: answer without a token anyway')
    .option('--broker <url>', 'external broker mode: subscribe to mqtt://host:port instead of running the embedded broker')
    .option('--durability <mode>', 'safe (fsync before ack, default) or fast')
    .option('--journal <on|off>', 'ack after the write-ahead journal fdatasync, apply to devices afterwards (default on)')
    .option('--apply-worker <on|off>', 'journal on: apply to the devices in a worker thread (default off)')
    .option('--min-free-bytes <bytes>', 'stop acking below this much free space in the data dir (default 16777216)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info)')
    .option('--query-max-rows <n>', 'most rows in one POST /query answer (default 10000)')
    .option('--query-timeout <ms>', 'time budget of one POST /query, ms (default 30000)')
    .option('--tls-cert <file>', 'PEM server certificate: turns on MQTT over TLS and HTTPS (docs/daemon.md, TLS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA bundle that client certificates must chain to')
    .option('--tls-handshake-timeout <ms>', 'drop a TLS handshake not finished in this time, ms (default 10000)')
    .option('--mqtt-tls-port <port>', 'MQTT over TLS port, 0 = any free port (default 8883 when --tls-cert is set)')
    .option('--mqtt-tls-host <host>', 'MQTT over TLS bind address (default: --mqtt-host)')
    .option('--mqtt-client-certs <mode>', 'off (default), optional or require: client certificates verified against --tls-ca; a CN that is a device id binds the connection to that device')
    .option('--http-plain-port <port>', 'with --tls-cert: also plain HTTP on 127.0.0.1 at this port (the API port speaks HTTPS)')
    .option('--heap-mb <mb>', 'V8 old-space limit of the daemon, MB; start re-executes itself with it unless node already has a heap flag (default 160, 0 = V8 default)')
    .action(async (flags: StartFlags) => {
      let config;
      let sync;
      try {
        config = loadConfig({ file: flags.config, env: process.env, flags: { ...flags } });
        sync = syncOptionsOf(config);
      } catch (err) {
        fail(err, 2);
      }
      // V8 fixes its heap limit at process start: re-execute once with it (src/cli/launcher.ts).
      await reexecWithHeapLimit(config.memory);
      // Loaded here, not at the top: `lmj-edge --help` and the data commands stay fast.
      const { startDaemon } = await import('../../gateway/daemon.js');
      const { createLogger } = await import('../../http/logger.js');
      const log = createLogger(config.log.level);
      let daemon;
      try {
        daemon = await startDaemon(config, { log, ...(sync === undefined ? {} : { sync }) });
      } catch (err) {
        log.flush();
        fail(err, 1);
      }
      const d = daemon;
      // Signals received here and signals the launcher relayed (launcher.ts, heap-limit.ts) are counted
      // apart: one Ctrl-C reaches both processes and must count once.
      let own = 0;
      let relayed = 0;
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (Math.max(own, relayed) > 1) {
          // A second signal means "now": acks not yet sent are redelivered by clients.
          process.stderr.write(`lmj-edge: ${sig} again, exiting without draining\n`, () => exitNow(130));
          return;
        }
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'signal received');
        d.stop().then(
          () => {
            log.flush();
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            log.flush();
            process.exit(1);
          },
        );
      };
      const ownSignal = (sig: NodeJS.Signals): void => {
        own++;
        onSignal(sig);
      };
      process.on('SIGTERM', ownSignal);
      process.on('SIGINT', ownSignal);
      onRelayedSignal((sig, n) => {
        relayed = Math.max(relayed, n);
        onSignal(sig);
      });
      if (d.mqtt !== undefined) {
        process.stdout.write(`mqtt listening on ${hostPort(d.mqtt.host, d.mqtt.port)}\n`);
        if (d.mqtt.tls !== undefined) process.stdout.write(`mqtts listening on ${hostPort(d.mqtt.tls.host, d.mqtt.tls.port)}\n`);
      }
      if (d.http.plainPort !== undefined) process.stdout.write(`http plain listening on 127.0.0.1:${d.http.plainPort}\n`);
      process.stdout.write(`http listening on ${hostPort(d.http.host, d.http.port)}\n`);
      const { codecInfo } = await import('../../codec/index.js');
      const summary = startSummary(d, codecInfo(), heapLimitInfo());
      process.stdout.write(formatSummary(summary));
      log.info({ summary }, 'started');
      if (d.brokerUrl !== undefined) {
        const url = d.brokerUrl;
        void d.subscribed.then(() => process.stdout.write(`mqtt subscribed to ${url}\n`));
      }
    });
}
