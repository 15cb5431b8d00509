import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import { compileTemplate, loadTemplate, resolveProfile, type DeviceContext } from '../../../firmware-sim/profiles/index.js';
import { createRng } from '../../../firmware-sim/rng.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const dev = (): DeviceContext => ({ id: 'pump-7', index: 7, rng: createRng(3), walks: new Map() });
const stamp = { seq: 5, boot: 2, ts: 1_700_000_000_123 };

function expectBadConfig(fn: () => unknown, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isLmjError(err, 'BAD_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected BAD_CONFIG');
}

describe('template profiles', () => {
  it('whole-string placeholders become typed values, embedded ones become text', () => {
    const p = compileTemplate({
      seq: '{{seq}}',
      boot: '{{boot}}',
      ts: '{{ts}}',
      name: '{{device}}',
      label: 'unit {{index}} of {{device}} (boot {{boot}})',
      fixed: { on: true, n: 3, list: [1, '{{seq}}', null] },
    });
    expect(p.reading(dev(), stamp)).toEqual({
      seq: 5,
      boot: 2,
      ts: 1_700_000_000_123,
      name: 'pump-7',
      label: 'unit 7 of pump-7 (boot 2)',
      fixed: { on: true, n: 3, list: [1, 5, null] },
    });
  });

  it('random placeholders respect their bounds and decimals', () => {
    const p = compileTemplate({
      seq: '{{seq}}',
      boot: '{{boot}}',
      i: '{{int:-3:3}}',
      f: '{{float:10:20:1}}',
      w: '{{walk:0:1:0.5:3}}',
      c: '{{choice:ok|warn|fail}}',
      b: '{{bool:1}}',
      n: '{{counter:10}}',
    });
    const d = dev();
    const counters: unknown[] = [];
    for (let k = 0; k < 500; k++) {
      const r = p.reading(d, { ...stamp, seq: k });
      expect(Number.isInteger(r['i'])).toBe(true);
      expect(r['i']).toBeGreaterThanOrEqual(-3);
      expect(r['i']).toBeLessThanOrEqual(3);
      expect(r['f']).toBeGreaterThanOrEqual(10);
      expect(r['f']).toBeLessThanOrEqual(20);
      expect(Math.round((r['f'] as number) * 10)).toBeCloseTo((r['f'] as number) * 10, 6);
      expect(r['w']).toBeGreaterThanOrEqual(0);
      expect(r['w']).toBeLessThanOrEqual(1);
      expect(['ok', 'warn', 'fail']).toContain(r['c']);
      expect(r['b']).toBe(true);
      counters.push(r['n']);
    }
    expect(counters.slice(0, 3)).toEqual([0, 10, 20]);
  });

  it('refuses templates verify could not check, or with bad placeholders', () => {
    expectBadConfig(() => compileTemplate([1, 2]), /top level must be a JSON object/);
    expectBadConfig(() => compileTemplate({ seq: '{{seq}}' }), /"boot": "\{\{boot\}\}"/);
    const base = { seq: '{{seq}}', boot: '{{boot}}' };
    expectBadConfig(() => compileTemplate({ ...base, x: '{{nope}}' }), /unknown placeholder \{\{nope\}\}$/);
    expectBadConfig(() => compileTemplate({ ...base, x: '{{int:1}}' }), /takes 2..2 arguments/);
    expectBadConfig(() => compileTemplate({ ...base, x: '{{int:5:1}}' }), /MIN <= MAX/);
    expectBadConfig(() => compileTemplate({ ...base, x: '{{float:a:1}}' }), /MIN must be a number/);
    expectBadConfig(() => compileTemplate({ ...base, x: '{{bool:2}}' }), /within 0..1/);
    expectBadConfig(() => compileTemplate({ ...base, x: 'a {{seq}} }}' }), /unbalanced/);
    expectBadConfig(() => compileTemplate({ ...base, deep: { x: '{{choice:a||b}}' } }), /deep\.x/);
  });

  it('the example in docs/firmware-sim.md compiles and fills every placeholder', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/firmware-sim.md'), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc)![1]!;
    const r = compileTemplate(JSON.parse(example)).reading(dev(), stamp);
    expect(JSON.stringify(r)).not.toContain('{{');
    expect(r).toMatchObject({ seq: 5, boot: 2, fw: 'tank-2', tank: { valve: expect.stringMatching(/^(open|closed)$/) } });
  });

  it('loads a template file by path; unreadable or invalid files are BAD_CONFIG', () => {
    const dir = tmpDir();
    const file = join(dir, 'tank.json');
    writeFileSync(file, JSON.stringify({ seq: '{{seq}}', boot: '{{boot}}', level: '{{walk:0:100:1}}' }));
    const p = resolveProfile(file);
    expect(p.name).toBe(`template:${file}`);
    expect(Object.keys(p.reading(dev(), stamp))).toEqual(['seq', 'boot', 'level']);
    writeFileSync(join(dir, 'broken.json'), '{"seq": ');
    expectBadConfig(() => loadTemplate(join(dir, 'broken.json')), /not valid JSON/);
    expectBadConfig(() => resolveProfile(join(dir, 'missing.json')), /cannot read template/);
  });
});
