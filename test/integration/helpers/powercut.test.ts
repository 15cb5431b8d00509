/**
 * The power-cut harness itself: a real node child under the LD_PRELOAD shim writes
 * files (synced, unsynced, O_DSYNC, truncated, renamed, from threadpool threads), is
 * SIGKILLed, and after the cut exactly the synced bytes remain.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { armCut, powerCut, readUndoLog, shimEnv } from '../../helpers/powercut.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** The child: every case in one process; prints READY and a JSON of expectations, then waits to be killed. */
const CHILD = String.raw`
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const [root, outside] = process.argv.slice(1);
const p = (n) => root + '/' + n;
const sha = (b) => createHash('sha256').update(b).digest('hex');
const out = {};
(async () => {
  // synced then appended without sync
  let fd = fs.openSync(p('a'), 'w');
  fs.writeSync(fd, 'hello');
  fs.fsyncSync(fd);
  fs.writeSync(fd, ' world');
  fs.closeSync(fd);
  // existing file overwritten in place, never synced
  fd = fs.openSync(p('b'), 'r+');
  fs.writeSync(fd, 'XX', 0, 'utf8');
  fs.writeSync(fd, 'YY', 8, 'utf8');
  fs.closeSync(fd);
  // created and written, never synced
  fs.writeFileSync(p('c'), 'never synced');
  // O_DSYNC writes are durable at once; a later plain write over them is not
  fd = fs.openSync(p('d'), fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_DSYNC);
  fs.writeSync(fd, 'durable!', 0);
  fs.closeSync(fd);
  fd = fs.openSync(p('d'), 'r+');
  fs.writeSync(fd, 'LOST', 0);
  fs.closeSync(fd);
  // O_TRUNC of an existing file, new content unsynced
  fs.writeFileSync(p('e'), 'new');
  // ftruncate shrink and grow, unsynced
  fd = fs.openSync(p('f'), 'r+');
  fs.ftruncateSync(fd, 3);
  fs.ftruncateSync(fd, 10000);
  fs.closeSync(fd);
  // writes from libuv threads; a fdatasync in the middle
  fd = fs.openSync(p('g'), 'w+');
  const w = (off, ch) => new Promise((res, rej) => fs.write(fd, Buffer.alloc(4096, ch), 0, 4096, off, (e) => (e ? rej(e) : res())));
  await Promise.all(Array.from({ length: 64 }, (_, i) => w(((i * 37) % 64) * 4096, 97 + (i % 26))));
  await new Promise((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
  out.g = sha(fs.readFileSync(p('g')));
  await Promise.all(Array.from({ length: 64 }, (_, i) => w(((i * 11) % 80) * 4096, 65 + (i % 26))));
  fs.closeSync(fd);
  // writev, synced, then renamed; later unsynced writev to the new name
  fd = fs.openSync(p('h.tmp'), 'w');
  fs.writevSync(fd, [Buffer.from('one,'), Buffer.from('two')]);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(p('h.tmp'), p('h'));
  fd = fs.openSync(p('h'), 'a');
  fs.writevSync(fd, [Buffer.from(',three')]);
  fs.closeSync(fd);
  // outside the root: untouched by the harness
  fs.writeFileSync(outside, 'outside');
  process.stdout.write('READY ' + JSON.stringify(out) + '\n');
  setInterval(() => {}, 1000);
})();
`;

/** Runs the child under the shim, SIGKILLs it once it is ready, returns its expectations. */
async function runChild(root: string, outside: string, log: string): Promise<Record<string, string>> {
  const child = spawn(process.execPath, ['-e', CHILD, root, outside], { env: { ...process.env, ...shimEnv(root, log) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<string | null>((res) => child.once('exit', (_c, sig) => res(sig)));
  const ready = await new Promise<Record<string, string>>((res, rej) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^READY (.*)$/m.exec(out);
      if (m) res(JSON.parse(m[1]!) as Record<string, string>);
    });
    void exited.then(() => rej(new Error(`child exited before READY: ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return ready;
}

function setup(): { root: string; outside: string; log: string } {
  const dir = tmpDir('lmj-powercut-');
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'b'), '0123456789');
  writeFileSync(join(root, 'e'), 'old content');
  writeFileSync(join(root, 'f'), 'abcdefgh');
  return { root, outside: join(dir, 'outside.txt'), log: join(dir, 'undo.log') };
}

const read = (p: string): string => readFileSync(p, 'latin1');

describe('power-cut harness (LD_PRELOAD undo log)', () => {
  it('before the cut the page cache holds every write (SIGKILL alone loses nothing)', async () => {
    const { root, outside, log } = setup();
    await runChild(root, outside, log);
    expect(read(join(root, 'a'))).toBe('hello world');
    expect(read(join(root, 'b'))).toBe('XX234567YY');
    expect(read(join(root, 'c'))).toBe('never synced');
    expect(read(join(root, 'd'))).toBe('LOSTble!');
    expect(read(join(root, 'e'))).toBe('new');
    expect(read(join(root, 'h'))).toBe('one,two,three');
    const { records, tornTail } = readUndoLog(log);
    expect(tornTail).toBe(false);
    expect(records.some((r) => r.path === outside)).toBe(false);
    expect(records.every((r) => r.path.startsWith(`${root}/`))).toBe(true);
  });

  it('after the cut exactly the synced bytes remain', async () => {
    const { root, outside, log } = setup();
    const expected = await runChild(root, outside, log);
    const report = powerCut(root, log);
    expect(read(join(root, 'a'))).toBe('hello');
    expect(read(join(root, 'b'))).toBe('0123456789');
    expect(existsSync(join(root, 'c'))).toBe(true);
    expect(read(join(root, 'c'))).toBe('');
    expect(read(join(root, 'd'))).toBe('durable!');
    expect(read(join(root, 'e'))).toBe('old content');
    expect(read(join(root, 'f'))).toBe('abcdefgh');
    expect(createHash('sha256').update(readFileSync(join(root, 'g'))).digest('hex')).toBe(expected.g);
    expect(readFileSync(join(root, 'g')).length).toBe(64 * 4096);
    expect(read(join(root, 'h'))).toBe('one,two');
    expect(read(outside)).toBe('outside');
    expect(report.files).toBe(8);
    expect(report.gone).toBe(0);
    expect(report.sharedMappings).toEqual([]);
  });

  it('torn mode keeps a seeded random subset of the dirty pages, whole pages only, and every synced byte', async () => {
    const { root, outside, log } = setup();
    const expected = await runChild(root, outside, log);
    const before = readFileSync(join(root, 'g'));
    const report = powerCut(root, log, { mode: 'torn', seed: 7, keep: 0.5 });
    expect(report.pagesKept).toBeGreaterThan(0);
    expect(report.pagesDropped).toBeGreaterThan(0);
    const g = readFileSync(join(root, 'g'));
    // After the sync g was 64 pages; the unsynced round touched pages 0..79.
    let kept = 0;
    let dropped = 0;
    for (let page = 0; page * 4096 < g.length; page++) {
      const now = g.subarray(page * 4096, (page + 1) * 4096);
      const cut = before.subarray(page * 4096, (page + 1) * 4096);
      if (now.equals(cut)) kept++;
      else dropped++;
      expect(new Set(now).size, `page ${page} is one write, not a mix`).toBe(1);
    }
    expect(kept).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    // The durable O_DSYNC bytes survive in either choice of their page.
    expect(read(join(root, 'd'))).toMatch(/^(durable!|LOSTble!)$/);
    expect(expected.g).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an armed cut kills the process right before its k-th next file event', async () => {
    const { root, log } = setup();
    const arm = join(root, '..', 'arm');
    armCut(arm, 5);
    // Each round: write a line (one event), fsync it (one event). Events 0..4 run
    // (w0 s0 w1 s1 w2); the process dies before s2, so line 2 is written but never synced.
    const script = `const fs = require('node:fs'); const fd = fs.openSync(process.argv[1] + '/lines', 'w');
      for (let i = 0; i < 100; i++) { fs.writeSync(fd, 'line ' + i + '\\n'); fs.fsyncSync(fd); }`;
    const child = spawn(process.execPath, ['-e', script, root], { env: { ...process.env, ...shimEnv(root, log, arm) }, stdio: 'ignore' });
    const signal = await new Promise<string | null>((res) => child.once('exit', (_c, sig) => res(sig)));
    expect(signal).toBe('SIGKILL');
    expect(read(join(root, 'lines'))).toBe('line 0\nline 1\nline 2\n');
    powerCut(root, log);
    expect(read(join(root, 'lines'))).toBe('line 0\nline 1\n');
  });
});
