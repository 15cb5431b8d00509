/**
 * The `start` launcher's reading of memory.* from the command line, the environment and a
 * `--config` file (src/cli/launcher.ts) agrees with the configuration loader's: same
 * precedence, same values; where it gives up, the loader refuses the configuration too.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryOf } from '../../../src/cli/launcher.js';
import { isLmjError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/gateway/config/load.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

/** What `start` would run with: memory.* of the loaded configuration, or the error code. */
function loaded(args: string[], env: Record<string, string>): { heapMb: number; semiSpaceMb: number } | string {
  const last = (name: string): string | undefined => {
    let v: string | undefined;
    args.forEach((a, i) => {
      if (a === name) v = args[i + 1];
      else if (a.startsWith(`${name}=`)) v = a.slice(name.length + 1);
    });
    return v;
  };
  try {
    const heapMb = last('--heap-mb');
    // The launcher decides the V8 heap flags only (the malloc settings the daemon applies itself).
    const { memory } = loadConfig({ file: last('--config'), env, flags: heapMb === undefined ? {} : { heapMb } });
    return { heapMb: memory.heapMb, semiSpaceMb: memory.semiSpaceMb };
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
}

describe('start launcher: memory.* before the CLI loads', () => {
  it('matches the configuration loader: flag > env > file > default', () => {
    const dir = tmpDir();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ memory: { heapMb: 64, semiSpaceMb: 4 } }));
    const noMemory = join(dir, 'no-memory.json');
    writeFileSync(noMemory, JSON.stringify({ durability: 'fast' }));
    const cases: Array<[string[], Record<string, string>]> = [
      [[], {}],
      [['--heap-mb', '96'], {}],
      [['--heap-mb=96', '--heap-mb', '120'], {}],
      [['--heap-mb', '0'], { LMJ_EDGE_SEMI_SPACE_MB: '0' }],
      [[], { LMJ_EDGE_HEAP_MB: '200' }],
      [['--heap-mb', '96'], { LMJ_EDGE_HEAP_MB: '200' }],
      [['--config', file], {}],
      [[`--config=${file}`], { LMJ_EDGE_HEAP_MB: ' 96 ' }],
      [['--config', file, '--heap-mb', '120'], { LMJ_EDGE_SEMI_SPACE_MB: '2' }],
      [['--config', noMemory], {}],
    ];
    for (const [args, env] of cases) {
      const expected = loaded(args, env);
      expect(typeof expected, JSON.stringify(args)).toBe('object');
      expect(memoryOf(args, env), JSON.stringify([args, env])).toEqual(expected);
    }
  });

  it('leaves to start what it cannot read, and start refuses it', () => {
    const dir = tmpDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ memory: { heapMb: 'lots' } }));
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ memory');
    const cases: Array<[string[], Record<string, string>]> = [
      [['--heap-mb', 'abc'], {}],
      [['--heap-mb', '-5'], {}],
      [[], { LMJ_EDGE_HEAP_MB: '' }],
      [[], { LMJ_EDGE_SEMI_SPACE_MB: '1.5' }],
      [['--config', bad], {}],
      [['--config', notJson], {}],
      [['--config', join(dir, 'missing.json')], {}],
    ];
    for (const [args, env] of cases) {
      expect(memoryOf(args, env), JSON.stringify([args, env])).toBeNull();
      expect(loaded(args, env), JSON.stringify([args, env])).toBe('BAD_CONFIG');
    }
  });
});
