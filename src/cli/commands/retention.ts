/**
 * `lmj-edge retention status|run [--device ID] [--data DIR | --http URL] [--config FILE]`.
 * With `--http` it asks the running daemon (`GET /retention/status`, `POST /retention/run`).
 * With `--data` it works on the data directory itself — only while the daemon is stopped
 * (a compaction swaps data.mdb under any other process that has it open) — with the
 * policies of `--config`/env and the outbox cursors stored in `DIR/gateway/sync`.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readRoot } from '../../core/telemetry/root.js';
import { assertDeviceId } from '../../devices/device-id.js';
import { createPool } from '../../devices/pool/index.js';
import { LmjError } from '../../errors.js';
import { loadConfig, retentionSettingsOf } from '../../gateway/config/index.js';
import { policyFor } from '../../gateway/retention/policy.js';
import { RetentionRunner, type SyncCursors } from '../../gateway/retention/runner.js';
import { SyncStateStore } from '../../sync/state-store.js';
import { listDeviceIds } from '../local-store.js';
import { fail, printJson } from '../output.js';
import { getJson, postJson } from '../remote.js';

interface Flags {
  data?: string;
  http?: string;
  config?: string;
  device?: string;
}

function settingsOf(flags: Flags) {
  const config = loadConfig({ file: flags.config, env: process.env, flags: { data: flags.data } });
  return { dataDir: config.dataDir, settings: retentionSettingsOf(config), durability: config.durability };
}

/** The stored outbox cursors, when the gateway ever synced (else no upstream: nothing to protect). */
function storedCursors(dataDir: string): { cursors: SyncCursors | undefined; close(): Promise<void> } {
  const dir = join(dataDir, 'gateway', 'sync');
  if (!existsSync(join(dir, 'data.mdb'))) return { cursors: undefined, close: async () => undefined };
  const store = new SyncStateStore(dir, true);
  const map = store.loadCursors();
  const onExpired = async (id: string, removed: readonly Buffer[]): Promise<void> => {
    const c = map.get(id);
    const cur = c?.element;
    if (c === undefined || cur === undefined) return;
    // Removed readings at or before the cursor no longer count as passed (the backlog is the count minus them).
    const behind = removed.filter((e) => Buffer.compare(e, cur) <= 0).length;
    if (behind === 0) return;
    c.passed = Math.max(0, c.passed - behind);
    await store.saveCursors([{ id, cursor: c }]);
  };
  return { cursors: { syncedThrough: (id) => map.get(id)?.element, onExpired }, close: () => store.closeWithoutFlag() };
}

async function localStatus(flags: Flags): Promise<unknown> {
  const { dataDir, settings } = settingsOf(flags);
  const ids = flags.device === undefined ? listDeviceIds(dataDir) : [assertDeviceId(flags.device)];
  const pool = createPool({ dataDir, durability: 'fast' });
  try {
    const devices = [];
    for (const id of ids) {
      const readings = await pool.use(id, (s) => s.read((t) => readRoot(t)?.readingCount ?? 0));
      const p = policyFor(settings, id);
      devices.push({ deviceId: id, readings, dataBytes: statSync(join(pool.pathOf(id), 'data.mdb')).size, policy: { maxAgeMs: p.maxAgeMs ?? null, maxBytes: p.maxBytes ?? null, dropUnsynced: p.dropUnsynced } });
    }
    return { dataDir, devices };
  } finally {
    await pool.close();
  }
}

async function localRun(flags: Flags): Promise<unknown> {
  const { dataDir, settings, durability } = settingsOf(flags);
  const only = flags.device === undefined ? undefined : assertDeviceId(flags.device);
  const sync = storedCursors(dataDir);
  const pool = createPool({ dataDir, durability });
  try {
    // The daemon is stopped: no ingest to leave room for, so the deletes run unpaced.
    const runner = new RetentionRunner({ pool, settings: { ...settings, dutyPercent: 100 }, listDevices: () => listDeviceIds(dataDir), sync: sync.cursors });
    const devices = await runner.run(only);
    return { devices, status: runner.status() };
  } finally {
    await pool.close();
    await sync.close();
  }
}

function target(flags: Flags): 'http' | 'data' {
  if (flags.http !== undefined && flags.data !== undefined) throw new LmjError('BAD_REQUEST', 'give either --data DIR or --http URL');
  return flags.http !== undefined ? 'http' : 'data';
}

/** Adds `retention status` and `retention run`. */
export function registerRetention(program: Command): void {
  const cmd = program.command('retention').description('remove old readings per the retention policy and compact instances (docs/retention.md)');
  const common = (c: Command): Command =>
    c
      .option('--device <id>', 'only this device')
      .option('--data <dir>', 'work on this data directory (daemon stopped)')
      .option('--http <url>', 'ask the running daemon, e.g. http://127.0.0.1:8080')
      .option('--config <file>', 'JSON config file with the retention policies (for --data)');
  common(cmd.command('status').description('policies, sizes and counters'))
    .action(async (flags: Flags) => {
      try {
        printJson(target(flags) === 'http' ? await getJson(flags.http ?? '', 'retention/status') : await localStatus(flags));
      } catch (err) {
        fail(err);
      }
    });
  common(cmd.command('run').description('run retention now (expire, then compact)'))
    .action(async (flags: Flags) => {
      try {
        const q = flags.device === undefined ? '' : `?device=${encodeURIComponent(assertDeviceId(flags.device))}`;
        printJson(target(flags) === 'http' ? await postJson(flags.http ?? '', `retention/run${q}`) : await localRun(flags));
      } catch (err) {
        fail(err);
      }
    });
}
