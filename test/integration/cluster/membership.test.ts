/**
 * Membership against a real etcd: a node registered by a child process is live while
 * the process lives (load figures refreshed with the keepalive), disappears after the
 * lease TTL once the process is SIGKILLed, and keeps its persistent record and its
 * ranges (never reassigned). One live process per node id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistration, ROOT, TableView, assignPartition, connectEtcd, initTable, listLiveNodes, listNodes, setOwner } from '../../../src/cluster/index.js';
import { isLmjError } from '../../../src/errors.js';
import { ROOT as REPO, killWhenTestEnds } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

// Waits on conditions (lease expiry, restarts, elections) with their own deadlines; the test timeout only bounds the sum.
let etcd: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 16384);
});
afterAll(async () => {
  await client?.delete().prefix(ROOT).exec();
  client?.close();
  await etcd?.destroy();
});

/** Starts the registrant child and resolves with its first output line. */
async function registrant(id: string, ttl: number): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/helpers/etcd-registrant.ts'), etcd.urls.join(','), id, String(ttl)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killWhenTestEnds(proc);
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`registrant exited (${code}): ${err}`)));
  });
  return { proc, line };
}

describe('membership', () => {
  it('a SIGKILLed node leaves membership after its lease TTL; its record and ranges stay', async () => {
    const view = await TableView.open(client);
    try {
      const { proc, line } = await registrant('k1', 2);
      expect(line).toMatch(/^registered [0-9a-f]+$/);
      await view.waitFor((v) => v.liveNode('k1') !== undefined);
      expect(view.liveNode('k1')).toMatchObject({ id: 'k1', address: { host: '127.0.0.1', port: 7000 }, capacity: { devices: 100 } });
      // Load figures are rewritten with each keepalive (every TTL/3).
      const first = view.liveNode('k1')?.load.devices ?? -1;
      await view.waitFor((v) => (v.liveNode('k1')?.load.devices ?? -1) > first + 1, 15_000);

      // The id is taken while k1 lives.
      const second = await registrant('k1', 2);
      expect(second.line).toBe('refusal NODE_ID_IN_USE');

      await setOwner(client, 16384, { kind: 'node', id: 'k1' });
      const killedAt = Date.now();
      proc.kill('SIGKILL');
      await view.waitFor((v) => v.liveNode('k1') === undefined, 20_000);
      // Not before the lease could have expired (TTL 2 s, less one keepalive interval).
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);
      expect((await listLiveNodes(client)).nodes.map((n) => n.id)).not.toContain('k1');
      expect((await listNodes(client)).nodes.map((n) => n.id)).toContain('k1');
      // The dead node's range is still its own: not reassigned.
      const kept = await assignPartition(client, 20000);
      expect(kept.assigned).toBe(false);
      expect(kept.range.owner).toEqual({ kind: 'node', id: 'k1' });
      // The id is free again.
      const again = await registrant('k1', 2);
      expect(again.line).toMatch(/^registered /);
      again.proc.kill('SIGKILL');
    } finally {
      await view.close();
    }
  }, 120_000);

  it('stop() revokes the lease: the node leaves at once', async () => {
    const reg = await NodeRegistration.register(client, {
      id: 's1',
      address: { host: '127.0.0.1', port: 1 },
      capacity: { devices: 1, bytes: 1 },
      load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }),
      ttlSeconds: 30,
    });
    expect((await listLiveNodes(client)).nodes.map((n) => n.id)).toContain('s1');
    await reg.stop();
    expect((await listLiveNodes(client)).nodes.map((n) => n.id)).not.toContain('s1');
    try {
      await NodeRegistration.register(client, { id: 'bad id!', address: { host: 'h', port: 1 }, capacity: { devices: 1, bytes: 1 }, load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }) });
      throw new Error('expected BAD_REQUEST');
    } catch (err) {
      expect(isLmjError(err, 'BAD_REQUEST')).toBe(true);
    }
  });
});
