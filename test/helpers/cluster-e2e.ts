/**
 * Waits, probes and checks the cluster end-to-end tests share: a condition poll that
 * treats a failing probe (a process restarting, a node not yet listening) as "not yet",
 * the gateway's sync counters, the `lmj-edge cluster` CLI run as a child process, and the
 * ledger and per-device order checks at the end of a run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { verifyLedger } from '../../firmware-sim/verify.js';
import { httpReadingSource } from '../../firmware-sim/verify-http.js';
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

/**
 * Every acknowledged reading in the simulator's ledger at `ledgerPath` reads back through
 * the router at `routerUrl` exactly once (no reading missing, doubled or conflicting, no
 * bad ledger line), and more than `minChecked` were checked.
 */
export async function expectExactLedger(ledgerPath: string, routerUrl: string, minChecked: number): Promise<void> {
  const v = await verifyLedger(ledgerPath, httpReadingSource(routerUrl));
  expect({ missing: v.missing, duplicate: v.duplicate, conflicts: v.conflicts, badLedgerLines: v.badLedgerLines }).toEqual({ missing: 0, duplicate: 0, conflicts: 0, badLedgerLines: 0 });
  expect(v.checked).toBeGreaterThan(minChecked);
}

/**
 * Each device's readings, read through the router at `routerUrl`, come back in publish
 * order within each boot of the simulated device (its `seq` grows), more than
 * `minPerDevice` of them per device.
 */
export async function expectPerDeviceOrder(routerUrl: string, devices: readonly string[], minPerDevice: number): Promise<void> {
  const source = httpReadingSource(routerUrl);
  try {
    for (const d of devices) {
      const seqs = new Map<number, number>();
      let n = 0;
      for await (const r of source.scan(d)) {
        const boot = Number(r.boot);
        expect(Number(r.seq), `${d} boot ${boot}`).toBeGreaterThan(seqs.get(boot) ?? -1);
        seqs.set(boot, Number(r.seq));
        n++;
      }
      expect(n, d).toBeGreaterThan(minPerDevice);
    }
  } finally {
    await source.close();
  }
}
