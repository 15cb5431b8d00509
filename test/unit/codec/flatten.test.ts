import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import type { Codec, Flattened, PayloadFormat } from '../../../src/codec/index.js';
import { codecs } from './codecs.js';
import { encodeLoose } from './cbor-encode.js';

function pairs(f: Flattened): [string, string][] {
  return f.paths.map((p, i) => [p.toString('utf8'), f.values[i]!.toString('hex')]);
}

function codeOf(codec: Codec, payload: Uint8Array | string, format: PayloadFormat = 'auto', limits = {}): string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  let single: string;
  try {
    codec.flatten(bytes, format, limits);
    single = 'ok';
  } catch (err) {
    single = isLmjError(err) ? err.code : `not LmjError: ${String(err)}`;
  }
  const [batch] = codec.flattenBatch([bytes], format, limits);
  expect(batch!.ok ? 'ok' : batch!.error.code).toBe(single);
  return single;
}

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

describe.each(codecs)('flatten (%s)', (_name, codec) => {
  it('flattens nested JSON into sorted escaped paths with canonical CBOR leaves', () => {
    const json = '{"env":{"temp":21.5,"hum":40},"cells":[3,-4,{"v":true}],"a.b":null,"$meta":"x","e":{},"l":[],"k[1]":false,"b\\\\s":1}';
    expect(pairs(codec.flatten(Buffer.from(json), 'json'))).toEqual([
      ['\\$meta', '6178'],
      ['a\\.b', 'f6'],
      ['b\\\\s', '01'],
      ['cells[0]', '03'],
      ['cells[1]', '23'],
      ['cells[2].v', 'f5'],
      ['e', 'a0'],
      ['env.hum', '1828'],
      ['env.temp', 'fb4035800000000000'],
      ['k\\[1\\]', 'f4'],
      ['l', '80'],
    ]);
  });

  it('encodes numbers: shortest ints (exact integer literals up to 64 bits), float64 otherwise, -0 kept', () => {
    const f = codec.flatten(Buffer.from('{"a":9007199254740991,"b":9007199254740992,"c":-0,"d":-1,"e":1e300,"f":255,"g":256,"h":-25,"i":4294967296,"j":1e-400}'), 'json');
    expect(pairs(f)).toEqual([
      ['a', '1b001fffffffffffff'],
      ['b', '1b0020000000000000'],
      ['c', 'fb8000000000000000'],
      ['d', '20'],
      ['e', 'fb7e37e43c8800759c'],
      ['f', '18ff'],
      ['g', '190100'],
      ['h', '3818'],
      ['i', '1b0000000100000000'],
      ['j', '00'],
    ]);
  });

  it('applies last-duplicate-wins like JSON.parse, including escaped spellings of a key', () => {
    const f = codec.flatten(Buffer.from('{"a":{"x":1,"y":{"deep":[1,2]}},"b":1,"\\u0061":{"z":2},"b":{"":3},"b":4}'), 'json');
    expect(pairs(f)).toEqual([
      ['a.z', '02'],
      ['b', '04'],
    ]);
  });

  it('applies last-duplicate-wins in large maps too (hash-indexed keys) and keeps __proto__ as a plain key', () => {
    const members = Array.from({ length: 100 }, (_, i) => `"k${i}":{"x":${i}}`);
    const json = `{${members.join(',')},"k3":7,"k99":{"y":1},"__proto__":{"a":1}}`;
    const f = pairs(codec.flatten(Buffer.from(json), 'json'));
    expect(f.length).toBe(101);
    expect(f).toContainEqual(['k3', '07']);
    expect(f).toContainEqual(['k99.y', '01']);
    expect(f).toContainEqual(['__proto__.a', '01']);
    expect(f.some(([p]) => p === 'k3.x' || p === 'k99.x')).toBe(false);
  });

  it('decodes string escapes and replaces lone surrogates with U+FFFD', () => {
    const f = codec.flatten(Buffer.from('{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\ud800x\\udc00","\\ud83d\\ude00":1}'), 'json');
    const value = Buffer.from('"\\/\b\f\n\r\té😀\ufffdx\ufffd', 'utf8');
    expect(pairs(f)).toEqual([
      ['s', Buffer.concat([Buffer.of(0x60 + value.length), value]).toString('hex')],
      ['😀', '01'],
    ]);
  });

  it('canonicalizes CBOR: long heads, half/single floats, 64-bit ints, bytes, undefined, indefinite containers', () => {
    const payload = hex(`bf 61 61 1a 00000001  61 62 f9 3e00  61 63 fa 7f7fffff  61 64 1b ffffffffffffffff
      61 65 3b ffffffffffffffff  61 66 42 0102  61 67 f7  61 68 9f 01 80 ff  61 69 a0  61 6a f9 8000 ff`);
    expect(pairs(codec.flatten(payload, 'cbor'))).toEqual([
      ['a', '01'],
      ['b', 'fb3ff8000000000000'],
      ['c', 'fb47efffffe0000000'],
      ['d', '1bffffffffffffffff'],
      ['e', '3bffffffffffffffff'],
      ['f', '420102'],
      ['g', 'f7'],
      ['h[0]', '01'],
      ['h[1]', '80'],
      ['i', 'a0'],
      ['j', 'fb8000000000000000'],
    ]);
  });

  it('detects the format in auto mode and flattens an empty top-level map to nothing', () => {
    expect(pairs(codec.flatten(Buffer.from(' \n{"a":1}')))).toEqual([['a', '01']]);
    expect(pairs(codec.flatten(encodeLoose({ entries: [['a', 1]] })))).toEqual([['a', '01']]);
    expect(pairs(codec.flatten(Buffer.from('{}')))).toEqual([]);
  });

  it('accepts a path of exactly 493 bytes and refuses 494', () => {
    expect(codeOf(codec, JSON.stringify({ ['k'.repeat(493)]: 1 }))).toBe('ok');
    expect(codeOf(codec, JSON.stringify({ ['k'.repeat(494)]: 1 }))).toBe('PATH_TOO_LONG');
    expect(codeOf(codec, JSON.stringify({ a: { ['k'.repeat(492)]: 1 } }))).toBe('PATH_TOO_LONG');
    expect(codeOf(codec, JSON.stringify({ ['.'.repeat(247)]: 1 }))).toBe('PATH_TOO_LONG');
  });

  it('honours maxDepth and maxFields', () => {
    const nest = (d: number): string => '{"a":'.repeat(d - 1) + '{"a":1}' + '}'.repeat(d - 1);
    expect(codeOf(codec, nest(32))).toBe('ok');
    expect(codeOf(codec, nest(33))).toBe('TOO_DEEP');
    expect(codeOf(codec, nest(3), 'json', { maxDepth: 2 })).toBe('TOO_DEEP');
    expect(codeOf(codec, '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + ',"a":1}')).toBe('TOO_DEEP');
    expect(codeOf(codec, '{"a":' + '['.repeat(100_000) + ']'.repeat(99_999) + '}')).toBe('BAD_JSON');
    const many = (n: number): string => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i])));
    expect(codeOf(codec, many(1024))).toBe('ok');
    expect(codeOf(codec, many(1025))).toBe('TOO_MANY_FIELDS');
    expect(codeOf(codec, many(5), 'json', { maxFields: 4 })).toBe('TOO_MANY_FIELDS');
  });

  const badJson: [string, string | Uint8Array][] = [
    ['BAD_JSON', '{"a":'],
    ['BAD_JSON', '{"a":1,}'],
    ['BAD_JSON', '{a:1}'],
    ['BAD_JSON', "{'a':1}"],
    ['BAD_JSON', '{"a":01}'],
    ['BAD_JSON', '{"a":1.}'],
    ['BAD_JSON', '{"a":-}'],
    ['BAD_JSON', '{"a":+1}'],
    ['BAD_JSON', '{"a":.5}'],
    ['BAD_JSON', '{"a":NaN}'],
    ['BAD_JSON', '{"a":Infinity}'],
    ['BAD_JSON', '{"a":tru}'],
    ['BAD_JSON', '{"a":"\u0001"}'],
    ['BAD_JSON', '{"a":"\\x"}'],
    ['BAD_JSON', '{"a":"\\u12"}'],
    ['BAD_JSON', '{"a":1} x'],
    ['BAD_JSON', '{"a":1}{}'],
    ['BAD_JSON', '{"a" 1}'],
    ['BAD_JSON', ' \ufeff{"a":1}'],
    ['BAD_JSON', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['BAD_JSON', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
    ['BAD_JSON', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d])],
    ['NON_FINITE', '{"a":1e400}'],
    ['NON_FINITE', '{"a":[1,-1e999]}'],
    ['EMPTY_KEY', '{"":1}'],
    ['EMPTY_KEY', '{"a":{"":{}}}'],
    ['EMPTY_KEY', '{"a":1e400,"":1}'],
    ['UNSUPPORTED_VALUE', '{"\\ud800":1,"\\udc00":2}'],
  ];
  it.each(badJson)('JSON → %s: %s', (expected, payload) => {
    expect(codeOf(codec, payload, 'json')).toBe(expected);
  });

  it('refuses a JSON top level that is not an object', () => {
    for (const p of ['[1]', '1', 'null', '"x"', 'true']) expect(codeOf(codec, p, 'json')).toBe('NOT_AN_OBJECT');
    expect(codeOf(codec, '', 'json')).toBe('BAD_JSON');
    expect(codeOf(codec, '[1]')).toBe('NOT_AN_OBJECT');
  });

  const badCbor: [string, string][] = [
    ['BAD_CBOR', ''],
    ['BAD_CBOR', 'a1'],
    ['BAD_CBOR', 'a1 61 61'],
    ['BAD_CBOR', 'a1 61 61 01 00'],
    ['BAD_CBOR', 'a1 61 61 1c'],
    ['BAD_CBOR', 'ff'],
    ['BAD_CBOR', 'a1 61 61 f8 10'],
    ['BAD_CBOR', 'a1 62 61 ff 01'],
    ['BAD_CBOR', 'a1 61 61 5f 61 00 ff'],
    ['BAD_CBOR', 'bf 61 61 ff'],
    ['BAD_CBOR', 'a1 61 61 9b ffffffffffffffff'],
    ['BAD_CBOR', 'a1 61 61 c1'],
    ['NOT_AN_OBJECT', '81 01'],
    ['NOT_AN_OBJECT', 'c1 a0'],
    ['NOT_AN_OBJECT', '01'],
    ['UNSUPPORTED_VALUE', 'a1 61 61 c1 01'],
    ['UNSUPPORTED_VALUE', 'a1 61 61 c2 41 01'],
    ['UNSUPPORTED_VALUE', 'a1 01 02'],
    ['UNSUPPORTED_VALUE', 'a1 41 61 02'],
    ['UNSUPPORTED_VALUE', 'a1 61 61 f0'],
    ['UNSUPPORTED_VALUE', 'a1 61 61 f8 20'],
    ['NON_FINITE', 'a1 61 61 f9 7e00'],
    ['NON_FINITE', 'a1 61 61 fa 7f800000'],
    ['NON_FINITE', 'a1 61 61 fb fff0000000000000'],
    ['EMPTY_KEY', 'a1 60 01'],
    ['TOO_DEEP', 'a1 61 61 ' + '81 '.repeat(40) + '01'],
  ];
  it.each(badCbor)('CBOR → %s: %s', (expected, payload) => {
    expect(codeOf(codec, hex(payload), 'cbor')).toBe(expected);
  });

  it('refuses bad arguments with INVALID_PARAM and keeps batch results independent', () => {
    expect(() => codec.flatten(Buffer.from('{}'), 'xml' as PayloadFormat)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
    expect(() => codec.flattenBatch([Buffer.from('{}')], 'xml' as PayloadFormat)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
    for (const limits of [{ maxDepth: 0 }, { maxDepth: 513 }, { maxFields: 0 }, { maxFields: 1.5 }]) {
      expect(() => codec.flatten(Buffer.from('{}'), 'json', limits)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
    }
    expect(() => codec.flatten('{}' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
    const out = codec.flattenBatch([Buffer.from('{"a":1}'), Buffer.from('{"a":'), 'x' as unknown as Uint8Array, hex('a1 61 62 02')]);
    expect(out.map((o) => (o.ok ? pairs(o.flat) : o.error.code))).toEqual([[['a', '01']], 'BAD_JSON', 'INVALID_PARAM', [['b', '02']]]);
    expect(codec.flattenBatch([])).toEqual([]);
  });
});
