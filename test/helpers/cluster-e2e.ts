/**
 * Waits and probes the cluster end-to-end tests share: a condition poll that treats a
 * failing probe (a process restarting, a node not yet listening) as "not yet", the
 * gateway's sync counters, and the `lmj-edge cluster` CLI run as a child process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getJson } from '../integration/sync/helpers.js';
import { CLI, ROOT } from './daemon.js';

const run = promisify(execFile);

/** Polls `fn` every `stepMs` until it is true; a rejected probe counts as false. Throws after `timeoutMs`. */
export async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The gateway's confirmed readings and its backlog (`GET /sync/status`). */
export async function syncState(gatewayHttpUrl: string): Promise<{ synced: number; backlog: number }> {
  const s = (await getJson(gatewayHttpUrl, '/sync/status')).json as { backlog: { readings: number }; counters: { readingsSynced: number } };
  return { synced: s.counters.readingsSynced, backlog: s.backlog.readings };
}

/** Runs `lmj-edge cluster --etcd URLS ARGS…`; a non-zero exit is returned, not thrown. */
export async function clusterCli(etcdUrls: readonly string[], args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, 'cluster', '--etcd', etcdUrls.join(','), ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
