/**
 * `lmj-edge cluster` (the compiled CLI, `npm run build` first) against a real etcd:
 * init, status, nodes, table in text and JSON, and the error paths (existing table,
 * invalid table, unreachable etcd, bad flags) with their codes and exit statuses.
 */
import { execFile } from 'node:child_process';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistration, ROOT, connectEtcd, putGroup, rangeKey, setOwner } from '../../../src/cluster/index.js';
import { CLI, ROOT as REPO, assertBuilt } from '../../helpers/daemon.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

let etcd: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  assertBuilt();
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
});
afterAll(async () => {
  client?.close();
  await etcd?.destroy();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Each CLI run is a whole Node process; on the shared 2-core machine one takes 1–3 s, hence the 120 s test timeouts.

/** Runs the CLI without blocking this process (its lease keepalives must go on). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('lmj-edge cluster', () => {
  it('init, status, nodes and table', async () => {
    const url = etcd.urls.join(',');
    const before = await cli(['cluster', '--etcd', url, 'status', '--json']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).table).toEqual({ initialized: false });

    const init = await cli(['cluster', '--etcd', url, 'init', '--partitions-per-range', '16384']);
    expect(init).toMatchObject({ code: 0, stdout: 'initialized: 4 ranges of 16384 partitions, table version 1\n' });
    const again = await cli(['cluster', '--etcd', url, 'init']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^lmj-edge: TABLE_EXISTS: /);

    const reg = await NodeRegistration.register(client, {
      id: 'node-a',
      address: { host: '127.0.0.1', port: 9100 },
      capacity: { devices: 1000, bytes: 1_000_000 },
      load: () => ({ devices: 12, bytes: 3400, writesPerSec: 5, readsPerSec: 1.5 }),
      ttlSeconds: 10,
    });
    try {
      await setOwner(client, 16384, { kind: 'node', id: 'node-a' });
      await putGroup(client, 'west', ['http://127.0.0.1:9200']);
      await setOwner(client, 49152, { kind: 'group', id: 'west' });

      // Read-only commands, started together (each is a whole CLI process). LMJ_EDGE_ETCD stands in for --etcd.
      const [status, text, nodes, nodesText, table, tableJsonRun] = await Promise.all([
        cli(['cluster', 'status', '--json'], { LMJ_EDGE_ETCD: url }),
        cli(['cluster', '--etcd', url, 'status']),
        cli(['cluster', '--etcd', url, 'nodes', '--json']),
        cli(['cluster', '--etcd', url, 'nodes']),
        cli(['cluster', '--etcd', url, 'table']),
        cli(['cluster', '--etcd', url, 'table', '--json']),
      ]);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout);
      expect(s.table).toMatchObject({ initialized: true, version: 3, partitionsPerRange: 16384, ranges: 4, owned: 2, unassigned: 2, groups: 1 });
      expect(s.etcd).toMatchObject({ leader: 'm0', version: expect.stringMatching(/^3\.4\./) });
      expect(s.etcd.members).toEqual([{ name: 'm0', clientUrls: [etcd.urls[0]] }]);
      expect(text.stdout).toMatch(/table\s+version 3 at revision \d+: 4 ranges of 16384 partitions, 2 owned, 2 unassigned/);
      expect(text.stdout).toMatch(/nodes\s+1 registered, 1 live/);

      expect(JSON.parse(nodes.stdout).nodes).toEqual([
        {
          id: 'node-a',
          live: true,
          address: '127.0.0.1:9100',
          ranges: 1,
          load: { devices: 12, bytes: 3400, writesPerSec: 5, readsPerSec: 1.5 },
          capacity: { devices: 1000, bytes: 1_000_000 },
          updatedAt: expect.any(Number),
        },
      ]);
      expect(nodesText.stdout.split('\n')[1]).toMatch(/^node-a\s+yes\s+127\.0\.0\.1:9100\s+1\s+12\/1000\s+3400\/1000000\s+5\.0\s+1\.5\s+\d{4}-/);

      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^table version 3 at etcd revision \d+, 16384 partitions per range$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual([
        ['FROM', 'TO', 'OWNER', 'EPOCH'],
        ['0', '16383', '-', '0'],
        ['16384', '32767', 'node-a', '1'],
        ['32768', '49151', '-', '0'],
        ['49152', '65535', 'group:west', '1'],
      ]);
      const tableJson = JSON.parse(tableJsonRun.stdout);
      expect(tableJson.ranges).toEqual([
        { from: 16384, to: 32767, node: 'node-a', owner: { kind: 'node', id: 'node-a' }, epoch: 1 },
        { from: 49152, to: 65535, node: 'west', owner: { kind: 'group', id: 'west' }, epoch: 1 },
      ]);
      expect(tableJson.unassigned).toHaveLength(2);

      // An invalid table: status says so and exits 1; table refuses with the code.
      await client.put(rangeKey(32768)).value('garbage').exec();
      const [bad, badTable] = await Promise.all([cli(['cluster', '--etcd', url, 'status']), cli(['cluster', '--etcd', url, 'table'])]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/table\s+INVALID: TABLE_INVALID: .*not JSON/);
      expect(badTable.code).toBe(1);
      expect(badTable.stderr).toMatch(/^lmj-edge: TABLE_INVALID: /);
    } finally {
      await reg.stop();
      await client.delete().prefix(ROOT).exec();
    }
  }, 120_000);

  it('has --help for the command and each subcommand', async () => {
    const runs = await Promise.all([[], ['init'], ['status'], ['nodes'], ['table']].map((sub) => cli(['cluster', ...sub, '--help'])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    expect(runs[0]?.stdout).toMatch(/Usage: lmj-edge cluster \[options\] \[command\][\s\S]*--etcd <urls>[\s\S]*init \[options\][\s\S]*table \[options\]/);
    expect(runs[1]?.stdout).toMatch(/--partitions-per-range <n>\s+partitions per range, 16\.\.65536 \(default: "256"\)/);
    for (const r of runs.slice(1)) expect(r.stdout).toContain('--json');
  }, 120_000);

  it('bad flags exit 2; an unreachable etcd exits 1 with CLUSTER_UNAVAILABLE', async () => {
    const noEtcd = await cli(['cluster', 'status'], { LMJ_EDGE_ETCD: '' });
    expect(noEtcd.code).toBe(2);
    expect(noEtcd.stderr).toMatch(/BAD_CONFIG/);
    const badUrl = await cli(['cluster', '--etcd', 'ftp://x', 'status']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/BAD_CONFIG: invalid configuration: etcd: ftp:\/\/x: expected http:\/\/host:port/);
    const badN = await cli(['cluster', '--etcd', etcd.urls.join(','), 'init', '--partitions-per-range', '8']);
    expect(badN.code).toBe(2);
    expect(badN.stderr).toMatch(/partitions-per-range: expected 16\.\.65536, got 8/);
    await etcd.stopFor(0, async () => {
      const down = await cli(['cluster', '--etcd', etcd.urls.join(','), 'table']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^lmj-edge: CLUSTER_UNAVAILABLE: /);
    });
  }, 120_000);
});
