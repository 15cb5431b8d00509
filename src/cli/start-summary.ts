/**
 * The short summary `lmj-edge start` prints once it is up: listeners, data dir, codec
 * (and why), durability, upstream and where the dashboard is. The same fields go to
 * the JSON log as one `started` line.
 */
import type { CodecInfo } from '../codec/index.js';
import type { Daemon } from '../gateway/daemon.js';
import { tokenRequired } from '../http/api-auth.js';
import type { HeapLimitInfo } from './heap-limit.js';

/** The summary's fields (also logged). */
export interface StartSummary {
  mqtt: string;
  http: string;
  dashboard: string;
  dataDir: string;
  codec: string;
  durability: string;
  upstream: string;
  /** Who may publish and read: the MQTT ACL and the API tokens. */
  auth: string;
  /** The V8 heap limit in effect and where it came from (src/cli/heap-limit.ts). */
  memory: string;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A wildcard bind address is not one to browse to: name a loopback one instead. */
function browsable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** The summary of a running daemon. */
export function startSummary(d: Pick<Daemon, 'config' | 'mqtt' | 'brokerUrl' | 'http'>, codec: CodecInfo, heap: HeapLimitInfo): StartSummary {
  const c = d.config;
  const auth = c.mqtt.usersFile === undefined ? ', no auth' : ', users file';
  const tls = d.mqtt?.tls;
  const certs = { off: 'no client certificates', optional: 'client certificates optional', require: 'client certificates required' };
  const tlsListener =
    tls === undefined
      ? ''
      : `; ${hostPort(tls.host, tls.port)} (embedded broker, TLS, ${certs[tls.clientCerts]}${tls.clientCerts === 'require' && c.mqtt.usersFile === undefined ? '' : auth})`;
  const mqtt =
    d.mqtt !== undefined
      ? `${hostPort(d.mqtt.host, d.mqtt.port)} (embedded broker, plain TCP, no TLS${auth})${tlsListener}`
      : `subscriber of ${d.brokerUrl ?? '?'} (external broker${d.brokerUrl?.startsWith('mqtts:') === true ? ', TLS' : ', no TLS'})`;
  const why =
    codec.kind === 'native'
      ? `the C++ addon (LMJ_CODEC=${codec.requested})`
      : codec.fallbackReason !== undefined
        ? `fallback: ${codec.fallbackReason}`
        : `LMJ_CODEC=${codec.requested}`;
  return {
    mqtt,
    http: d.http.tls
      ? `${hostPort(d.http.host, d.http.port)} (HTTPS, TLS)${d.http.plainPort === undefined ? '' : `; 127.0.0.1:${d.http.plainPort} (plain HTTP, loopback only)`}`
      : `${hostPort(d.http.host, d.http.port)} (plain HTTP, no TLS)`,
    dashboard: `${d.http.tls ? 'https' : 'http'}://${hostPort(browsable(d.http.host), d.http.port)}/`,
    dataDir: c.dataDir,
    codec: `${codec.kind} (${why})`,
    durability: c.durability === 'safe' ? 'safe (fsync before every ack)' : 'fast (a power cut may lose acknowledged readings)',
    upstream: c.sync.upstream ?? 'none',
    auth: authSummary(c),
    memory: memorySummary(c, heap),
  };
}

function memorySummary(c: Daemon['config'], heap: HeapLimitInfo): string {
  const m = c.memory;
  const why =
    heap.source === 'config'
      ? `memory.heapMb ${m.heapMb}, memory.semiSpaceMb ${m.semiSpaceMb}`
      : heap.source === 'node'
        ? 'set by a heap flag given to node; memory.heapMb not applied'
        : 'V8 default (memory.heapMb 0)';
  return `V8 heap limit ${heap.limitMb} MB (${why})`;
}

function authSummary(c: Daemon['config']): string {
  const mqtt = c.broker.url !== undefined ? 'mqtt: the external broker\'s' : c.mqtt.usersFile === undefined ? 'mqtt: anonymous (loopback), no ACL' : 'mqtt: users file, per-device ACL';
  const open = c.http.apiTokensFile !== undefined && !tokenRequired(c.http.host, true, c.http.apiLoopbackOpen);
  const api = c.http.apiTokensFile === undefined ? 'api: no tokens (loopback only)' : open ? 'api: tokens file, loopback open' : 'api: tokens required';
  return `${mqtt}; ${api}`;
}

/** The summary as aligned text lines. */
export function formatSummary(s: StartSummary): string {
  const rows: [string, string][] = [
    ['mqtt', s.mqtt],
    ['http', s.http],
    ['dashboard', s.dashboard],
    ['data', s.dataDir],
    ['codec', s.codec],
    ['durability', s.durability],
    ['upstream', s.upstream],
    ['auth', s.auth],
    ['memory', s.memory],
  ];
  return `lmj-edge started\n${rows.map(([k, v]) => `  ${`${k}:`.padEnd(12)}${v}\n`).join('')}`;
}
