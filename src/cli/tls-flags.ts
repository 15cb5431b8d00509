/**
 * The TLS flags of `lmj-edge router` and `lmj-edge node`: `--tls-cert`, `--tls-key`
 * (HTTPS on the listener), `--tls-ca` (then only clients with a certificate signed by it
 * are served: mutual TLS, e.g. nodes that serve only routers), `--tls-handshake-timeout`,
 * and `--upstream-ca` (the CA the HTTPS peers this process calls must chain to).
 * The gateway's own TLS settings are configuration keys (src/gateway/config/tls.ts).
 */
import type { Command } from 'commander';
import { LmjError } from '../errors.js';
import type { Logger } from '../http/logger.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, type HttpsOptions, type PeerTls } from '../http/tls-listener.js';
import { loadCaBundle, loadTlsMaterial } from '../http/tls-material.js';

/** The flags as commander hands them over. */
export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsHandshakeTimeout?: string;
  upstreamCa?: string;
}

/** Adds the TLS flags; `peers` names what `--upstream-ca` is for. */
export function addTlsFlags(cmd: Command, peers?: string): Command {
  cmd
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS instead of HTTP')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA: serve only clients with a certificate signed by it (mutual TLS)')
    .option('--tls-handshake-timeout <ms>', `drop a TLS handshake not finished in this time, ms (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS})`);
  if (peers !== undefined) cmd.option('--upstream-ca <file>', `PEM CA the HTTPS ${peers} must chain to; calls them over https://`);
  return cmd;
}

function bad(key: string, why: string): LmjError {
  return new LmjError('BAD_CONFIG', `invalid configuration: ${key}: ${why}`, { details: { key, reason: why } });
}

/** The listener's HTTPS options, or undefined without `--tls-cert`; throws BAD_CONFIG / TLS_*. */
export function httpsOptionsOf(flags: TlsFlags, listener: string, log: Logger): HttpsOptions | undefined {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) {
    if (flags.tlsCa !== undefined) throw bad('tls-ca', 'client certificates need HTTPS: set --tls-cert and --tls-key');
    return undefined;
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw bad(flags.tlsCert === undefined ? 'tls-cert' : 'tls-key', '--tls-cert and --tls-key go together');
  const raw = flags.tlsHandshakeTimeout ?? String(DEFAULT_HANDSHAKE_TIMEOUT_MS);
  const timeout = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(timeout) || timeout < 50 || timeout > 120_000) throw bad('tls-handshake-timeout', `expected 50..120000 ms, got ${raw}`);
  const material = loadTlsMaterial({ cert: flags.tlsCert, key: flags.tlsKey, ca: flags.tlsCa });
  for (const warning of material.warnings) log.warn({ cert: flags.tlsCert }, warning);
  return { material, clientCerts: flags.tlsCa === undefined ? 'off' : 'require', handshakeTimeoutMs: timeout, listener };
}

/** What this process presents and trusts when it calls HTTPS peers (`--upstream-ca`), or undefined. */
export function peerTlsOf(flags: TlsFlags, own: HttpsOptions | undefined): PeerTls | undefined {
  if (flags.upstreamCa === undefined) return undefined;
  return { ca: loadCaBundle(flags.upstreamCa), ...(own === undefined ? {} : { cert: own.material.cert, key: own.material.key }) };
}
