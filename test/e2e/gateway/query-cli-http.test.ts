/** `lmj-edge query --http URL` against a running daemon: same answer as `--data`, errors with their code. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, startDaemon } from '../../helpers/daemon.js';
import { writeFleet } from '../../helpers/telemetry-data.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LMJ_EDGE_LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('lmj-edge query --http', () => {
  it('answers like --data over the daemon, and reports remote errors', async () => {
    const dir = tmpDir();
    await writeFleet(dir, ['h-1', 'h-2', 'h-3'], 60, 1_764_300_000_000, 3);
    const d = await startDaemon({ dataDir: dir });
    const sql = 'SELECT device, count(*) AS n, avg(hum) AS h FROM readings WHERE seq >= $1 GROUP BY device ORDER BY device';
    // The daemon lists instances written before its start once its registry is reconciled.
    let viaHttp = await cli(['query', sql, '--http', d.httpUrl, '--format', 'json', '--param', '10']);
    while (viaHttp.code === 0 && JSON.parse(viaHttp.stdout).rows.length < 3) viaHttp = await cli(['query', sql, '--http', d.httpUrl, '--format', 'json', '--param', '10']);
    const viaData = await cli(['query', sql, '--data', dir, '--format', 'json', '--param', '10']);
    expect(viaHttp.code).toBe(0);
    expect(JSON.parse(viaHttp.stdout).rows).toHaveLength(3);
    expect(viaHttp.stdout).toBe(viaData.stdout);
    const table = await cli(['query', 'SELECT device FROM devices ORDER BY device', '--http', d.httpUrl]);
    expect(table.stdout).toMatch(/^device\n-+\nh-1\nh-2\nh-3\n\(3 rows\)\n$/);
    const bad = await cli(['query', 'SELECT device FROM readings GROUP BY', '--http', d.httpUrl]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^lmj-edge: SQL_SYNTAX: .* at line 1, column 37\n$/);
    const limit = await cli(['query', 'SELECT seq FROM readings', '--http', d.httpUrl, '--max-rows', '5']);
    expect([limit.code, /^lmj-edge: QUERY_LIMIT: /.test(limit.stderr)]).toEqual([1, true]);
    const both = await cli(['query', 'SELECT 1', '--http', d.httpUrl, '--data', dir]);
    expect([both.code, both.stderr]).toEqual([1, 'lmj-edge: BAD_REQUEST: give either --data DIR or --http URL\n']);
    await d.kill('SIGTERM');
    const down = await cli(['query', 'SELECT 1 FROM devices', '--http', d.httpUrl]);
    expect([down.code, /^lmj-edge: UNAVAILABLE: cannot reach /.test(down.stderr)]).toEqual([1, true]);
  }, 120_000);
});
