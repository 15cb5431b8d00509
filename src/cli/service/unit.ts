/**
 * The systemd unit `lmj-edge install-service` writes: a hardened service running the
 * installed `lmj-edge start` as its own user, with a descriptor limit sized for the
 * device pool (docs/install.md, The systemd unit).
 */
import { fdsPerInstance } from '../../devices/pool/fd-budget.js';

/** Open instances the service is sized for when the configuration leaves the cap at 0 (derive). */
export const SERVICE_DEFAULT_MAX_OPEN = 1024;
/** Descriptors beyond the pool and the MQTT sockets: HTTP clients, logs, the gateway's own stores, journal. */
export const SERVICE_FD_HEADROOM = 512;

/** What the descriptor limit is derived from. */
export interface FdSizing {
  /** Most device instances open at once. */
  maxOpenInstances: number;
  durability: 'safe' | 'fast';
  /** Most simultaneous MQTT connections (one socket each). */
  maxConnections: number;
}

/**
 * LimitNOFILE for the service: every open instance at its peak descriptor count
 * (fd-budget.ts), one socket per allowed MQTT connection, plus fixed headroom.
 */
export function limitNofile(s: FdSizing): number {
  return s.maxOpenInstances * fdsPerInstance(s.durability) + s.maxConnections + SERVICE_FD_HEADROOM;
}

/** Inputs of {@link renderUnit}. */
export interface UnitOptions {
  user: string;
  /** Absolute data directory. */
  dataDir: string;
  /** Absolute config file path. */
  configFile: string;
  /** Absolute path of the Node binary. */
  node: string;
  /** Absolute path of the installed bin/lmj-edge.js. */
  bin: string;
  limitNofile: number;
  /** Set as LMJ_EDGE_MAX_OPEN_INSTANCES when the config file leaves the cap to be derived. */
  maxOpenOverride: number | undefined;
}

/** systemd's StateDirectory= takes a path under /var/lib; other data dirs only get ReadWritePaths=. */
function stateDirectory(dataDir: string): string | undefined {
  const m = /^\/var\/lib\/([^/].*[^/]|[^/])$/.exec(dataDir);
  return m?.[1];
}

/** Quotes one ExecStart= word when it needs it (systemd's C-style quoting). */
function word(s: string): string {
  return /^[A-Za-z0-9_./:@+=-]+$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** The unit file text. */
export function renderUnit(o: UnitOptions): string {
  const state = stateDirectory(o.dataDir);
  const lines = [
    '# Written by `lmj-edge install-service`; see docs/install.md (The systemd unit).',
    '[Unit]',
    'Description=lmj-edge IoT edge daemon (MQTT telemetry into per-device LMJCore stores)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    // No heap flag here: `start` applies the config's memory.heapMb itself (re-executing
    // once), so the unit and a daemon started by hand cannot disagree (docs/daemon.md, Memory).
    `ExecStart=${[o.node, o.bin, 'start', '--config', o.configFile].map(word).join(' ')}`,
    // SIGTERM drains: in-flight messages commit and get their PUBACKs before exit. Only the
    // launcher gets it (mixed); it relays it to the daemon once. SIGKILL at the timeout hits both.
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    'TimeoutStopSec=60',
    'Restart=on-failure',
    'RestartSec=2',
    // Sized for the pool: instances × descriptors each + MQTT sockets + headroom.
    `LimitNOFILE=${o.limitNofile}`,
    ...(o.maxOpenOverride === undefined ? [] : [`Environment=LMJ_EDGE_MAX_OPEN_INSTANCES=${o.maxOpenOverride}`]),
    'Environment=NODE_ENV=production',
    ...(state === undefined ? [] : [`StateDirectory=${state}`, 'StateDirectoryMode=0750']),
    `ReadWritePaths=${word(o.dataDir)}`,
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'NoNewPrivileges=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'CapabilityBoundingSet=',
    'SystemCallArchitectures=native',
    'UMask=0027',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}
