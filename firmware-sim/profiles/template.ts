/**
 * User template profiles: a JSON file whose string values may contain placeholders.
 *
 * Syntax (documented in docs/firmware-sim.md):
 * - A string that is exactly one placeholder becomes a typed value:
 *   `"temp": "{{float:-10:40:1}}"` → `"temp": 21.3`.
 * - A placeholder inside a longer string is interpolated as text:
 *   `"fw": "v1.{{boot}}"` → `"fw": "v1.3"`.
 * - Placeholders: `{{seq}}`, `{{boot}}`, `{{ts}}`, `{{device}}`, `{{index}}`,
 *   `{{int:MIN:MAX}}`, `{{float:MIN:MAX[:DECIMALS]}}` (default 2 decimals),
 *   `{{walk:MIN:MAX:STEP[:DECIMALS]}}` (bounded random walk per device),
 *   `{{counter[:STEP]}}` (grows by STEP, default 1, per reading; survives reboots),
 *   `{{choice:A|B|C}}` (one of the texts), `{{bool[:P]}}` (true with probability P, default 0.5).
 * - Object keys are literal. Numbers, booleans, null and arrays are copied as they are.
 * - The top level must be an object with `"seq": "{{seq}}"` and `"boot": "{{boot}}"`
 *   members, because `verify` matches stored readings by those two fields.
 */
import { readFileSync } from 'node:fs';
import { LmjError } from '../../src/errors.js';
import { round } from '../rng.js';
import { walk, type DeviceContext, type Profile, type ReadingStamp } from './types.js';

type Gen = (dev: DeviceContext, s: ReadingStamp) => unknown;

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const WHOLE = /^\{\{([^{}]*)\}\}$/;

function bad(msg: string, where: string): LmjError {
  return new LmjError('BAD_CONFIG', `template ${where}: ${msg}`, { details: { key: 'profile', where } });
}

function num(text: string | undefined, what: string, where: string): number {
  const v = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(v)) throw bad(`${what} must be a number, got ${JSON.stringify(text ?? '')}`, where);
  return v;
}

/** Compiles one placeholder body (the text between `{{` and `}}`) into a generator. */
function compilePlaceholder(body: string, where: string, key: string): Gen {
  const [name = '', ...args] = body.trim().split(':');
  const argc = (min: number, max: number): void => {
    if (args.length < min || args.length > max) throw bad(`{{${body}}} takes ${min}..${max} arguments`, where);
  };
  switch (name) {
    case 'seq':
      argc(0, 0);
      return (_d, s) => s.seq;
    case 'boot':
      argc(0, 0);
      return (_d, s) => s.boot;
    case 'ts':
      argc(0, 0);
      return (_d, s) => s.ts;
    case 'device':
      argc(0, 0);
      return (d) => d.id;
    case 'index':
      argc(0, 0);
      return (d) => d.index;
    case 'int': {
      argc(2, 2);
      const lo = num(args[0], 'MIN', where);
      const hi = num(args[1], 'MAX', where);
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi) throw bad('int needs integers MIN <= MAX', where);
      return (d) => d.rng.int(lo, hi);
    }
    case 'float': {
      argc(2, 3);
      const lo = num(args[0], 'MIN', where);
      const hi = num(args[1], 'MAX', where);
      const dec = args[2] === undefined ? 2 : num(args[2], 'DECIMALS', where);
      if (lo > hi) throw bad('float needs MIN <= MAX', where);
      return (d) => round(d.rng.uniform(lo, hi), dec);
    }
    case 'walk': {
      argc(3, 4);
      const lo = num(args[0], 'MIN', where);
      const hi = num(args[1], 'MAX', where);
      const step = num(args[2], 'STEP', where);
      const dec = args[3] === undefined ? 2 : num(args[3], 'DECIMALS', where);
      if (lo > hi || step < 0) throw bad('walk needs MIN <= MAX and STEP >= 0', where);
      return (d) => round(walk(d, key, lo, hi, step), dec);
    }
    case 'counter': {
      argc(0, 1);
      const step = args[0] === undefined ? 1 : num(args[0], 'STEP', where);
      return (d) => {
        const v = (d.walks.get(key) ?? -step) + step;
        d.walks.set(key, v);
        return v;
      };
    }
    case 'choice': {
      argc(1, 1);
      const options = (args[0] ?? '').split('|');
      if (options.some((o) => o === '')) throw bad('choice needs non-empty options A|B|C', where);
      return (d) => d.rng.pick(options);
    }
    case 'bool': {
      argc(0, 1);
      const p = args[0] === undefined ? 0.5 : num(args[0], 'P', where);
      if (p < 0 || p > 1) throw bad('bool probability must be within 0..1', where);
      return (d) => d.rng.chance(p);
    }
    default:
      throw bad(`unknown placeholder {{${body}}}`, where);
  }
}

function compileString(text: string, where: string): Gen {
  const whole = WHOLE.exec(text);
  if (whole) return compilePlaceholder(whole[1] ?? '', where, where);
  if (!text.includes('{{')) return () => text;
  const parts: Gen[] = [];
  let last = 0;
  let n = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const lit = text.slice(last, m.index);
    parts.push(() => lit);
    parts.push(compilePlaceholder(m[1] ?? '', where, `${where}#${n++}`));
    last = m.index + m[0].length;
  }
  const tail = text.slice(last);
  if (tail.includes('{{') || tail.includes('}}')) throw bad(`unbalanced braces in ${JSON.stringify(text)}`, where);
  parts.push(() => tail);
  return (d, s) => parts.map((p) => String(p(d, s))).join('');
}

function compileValue(value: unknown, where: string): Gen {
  if (typeof value === 'string') return compileString(value, where);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, `${where}[${i}]`));
    return (d, s) => items.map((g) => g(d, s));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v, where === '' ? k : `${where}.${k}`)] as const);
    return (d, s) => {
      const out: Record<string, unknown> = {};
      for (const [k, g] of entries) out[k] = g(d, s);
      return out;
    };
  }
  return () => value;
}

/** Compiles a parsed template document into a profile. Throws BAD_CONFIG on any syntax error. */
export function compileTemplate(doc: unknown, name = 'template'): Profile {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw bad('the top level must be a JSON object', '(top)');
  }
  const top = doc as Record<string, unknown>;
  if (top['seq'] !== '{{seq}}' || top['boot'] !== '{{boot}}') {
    throw bad('the top level needs "seq": "{{seq}}" and "boot": "{{boot}}"', '(top)');
  }
  const gen = compileValue(doc, '');
  return { name, reading: (d, s) => gen(d, s) as Record<string, unknown> };
}

/** Reads and compiles a template file. */
export function loadTemplate(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LmjError('BAD_CONFIG', `cannot read template ${file}`, { cause, details: { key: 'profile', file } });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new LmjError('BAD_CONFIG', `template ${file} is not valid JSON`, { cause, details: { key: 'profile', file } });
  }
  return compileTemplate(doc, `template:${file}`);
}
