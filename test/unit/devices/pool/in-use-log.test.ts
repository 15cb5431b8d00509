/** The in-use record of mapped instances (src/devices/pool/in-use-log.ts) on real files. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InUseLog, parseInUse } from '../../../../src/devices/pool/in-use-log.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

describe('InUseLog', () => {
  it('names the instances open when a run ended without a clean stop', () => {
    const path = join(tmpDir(), 'gateway', 'in-use');
    const first = new InUseLog(path, true);
    expect(first.previous).toEqual({ cleanStop: true, suspects: [] });
    first.opened('a');
    first.opened('b');
    first.opened('c');
    first.closed('b');
    // No markClean: the process was killed here.
    expect(new InUseLog(path, true).previous).toEqual({ cleanStop: false, suspects: ['a', 'c'] });
  });

  it('record: one grouped fdatasync off the main thread for concurrent opens, then nothing more for them', async () => {
    const path = join(tmpDir(), 'in-use');
    const log = new InUseLog(path, true);
    const waits = ['p', 'q', 'r'].map((id) => log.record(id));
    for (const w of waits) expect(w).toBeInstanceOf(Promise);
    await Promise.all(waits);
    // Durable now: recording or opening them again writes no line.
    expect(log.record('p')).toBeUndefined();
    log.opened('q');
    expect(readFileSync(path, 'utf8')).toBe('+p\n+q\n+r\n');
    // Killed here: all three are suspects of the next start.
    expect(new InUseLog(path, true).previous.suspects).toEqual(['p', 'q', 'r']);
  });

  it('a clean stop leaves no suspects; suspects stay suspect until closed, also across another crash', () => {
    const path = join(tmpDir(), 'in-use');
    const run1 = new InUseLog(path, true);
    run1.opened('x');
    run1.opened('y');
    const run2 = new InUseLog(path, true);
    expect(run2.previous.suspects).toEqual(['x', 'y']);
    // Killed again before verifying anything: still both.
    const run3 = new InUseLog(path, true);
    expect(run3.previous.suspects).toEqual(['x', 'y']);
    run3.closed('x');
    // A stop with y never judged: not clean, y stays suspect.
    run3.markClean();
    expect(new InUseLog(path, true).previous).toEqual({ cleanStop: false, suspects: ['y'] });
    const run5 = new InUseLog(path, false);
    run5.closed('y');
    run5.opened('z');
    run5.closed('z');
    run5.markClean();
    expect(readFileSync(path, 'utf8').endsWith('clean\n')).toBe(true);
    expect(new InUseLog(path, true).previous).toEqual({ cleanStop: true, suspects: [] });
  });

  it('parses torn and foreign lines conservatively', () => {
    expect(parseInUse('+a\n+b\n-a\n+c')).toEqual({ cleanStop: false, suspects: ['b', 'c'] });
    expect(parseInUse('+a\nclean\n+b\n-b\n')).toEqual({ cleanStop: false, suspects: [] });
    // Never a path: an id that is not a valid device id is ignored.
    expect(parseInUse('+../etc\n+ok\n')).toEqual({ cleanStop: false, suspects: ['ok'] });
    const path = join(tmpDir(), 'in-use');
    writeFileSync(path, '+dev-1\n+dev-');
    expect(new InUseLog(path, true).previous.suspects).toEqual(['dev-', 'dev-1']);
  });
});
