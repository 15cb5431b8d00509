/** `lmj-edge query` as a real process over a data directory written with the ingest model. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, ROOT } from '../../helpers/daemon.js';
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

beforeAll(() => assertBuilt());

describe('lmj-edge query', () => {
  it('answers as json, csv and table; binds --param; writes pseudo-tables', async () => {
    const dir = tmpDir();
    const rows = await writeFleet(dir, ['c-1', 'c-2'], 50, 1_764_300_000_000, 3);
    const sql = 'SELECT device, count(*) AS n, max(seq) FROM readings WHERE hum >= $1 GROUP BY device ORDER BY device';
    // One after the other: three first opens of the same data directory at once failed once (exit 1) on CI.
    const json = await cli(['query', sql, '--data', dir, '--format', 'json', '--param', '0']);
    const csv = await cli(['query', "SELECT device, mode FROM readings WHERE device = $1 AND seq < 2 ORDER BY seq", '--data', dir, '--format', 'csv', '--param', 'c-2']);
    const table = await cli(['query', 'SELECT device, reading_count FROM devices', '--data', dir]);
    expect([json.code, json.stderr]).toEqual([0, '']);
    expect(JSON.parse(json.stdout)).toEqual({
      columns: [{ name: 'device', type: 'text' }, { name: 'n', type: 'int' }, { name: 'max(seq)', type: 'int' }],
      rows: [['c-1', 50, 49], ['c-2', 50, 49]],
    });
    expect(rows.length).toBe(100);
    const expectedModes = rows.filter((r) => r.device === 'c-2' && Number(r.payload['seq']) < 2).map((r) => `c-2,${String(r.payload['mode'])}`);
    expect(csv.stdout).toBe(['device,mode', ...expectedModes, ''].join('\r\n'));
    expect(table.stdout).toMatch(/^device\s+reading_count\n-+\s+-+\nc-1\s+50\nc-2\s+50\n\(2 rows\)\n$/);
    expect((await cli(['query', 'CREATE TABLE notes (id int primary key, body text)', '--data', dir])).code).toBe(0);
    expect((await cli(['query', "INSERT INTO notes VALUES (1, 'hello, \"world\"')", '--data', dir])).code).toBe(0);
    const note = await cli(['query', 'SELECT body FROM notes', '--data', dir, '--format', 'csv']);
    expect(note.stdout).toBe('body\r\n"hello, ""world"""\r\n');
    // Six CLI processes on a two-core machine, each loading the SQL parser.
  }, 120_000);

  it('bad SQL exits 1 with the code and position on stderr', async () => {
    const dir = tmpDir();
    const [r, u, xml] = await Promise.all([
      cli(['query', 'SELECT device FROM readings GROUP BY', '--data', dir]),
      cli(['query', 'SELECT DISTINCT device FROM readings', '--data', dir]),
      cli(['query', 'SELECT 1 FROM readings', '--format', 'xml', '--data', dir]),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lmj-edge: SQL_SYNTAX: syntax error: .* at line 1, column 37\n$/);
    expect(u.stderr).toBe('lmj-edge: SQL_UNSUPPORTED: DISTINCT is not supported at line 1, column 8\n');
    expect(xml.stderr).toContain('BAD_REQUEST');
  }, 60_000);
});
