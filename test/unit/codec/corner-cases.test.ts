/**
 * Codec corner cases, both codecs alike (docs/codec.md §4–§7): indefinite-length
 * items of every kind are normalised to their definite encoding; a JSON top level
 * that is not an object says so (not BAD_CBOR); a leading UTF-8 BOM is skipped;
 * integers are never rounded.
 */
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import type { Codec, Flattened, PayloadFormat } from '../../../src/codec/index.js';
import { codecs } from './codecs.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function pairs(f: Flattened): [string, string][] {
  return f.paths.map((p, i) => [p.toString('utf8'), f.values[i]!.toString('hex')]);
}

/** flatten and flattenBatch must agree; returns the pairs or the error code. */
function run(codec: Codec, payload: Uint8Array | string, format: PayloadFormat = 'auto'): [string, string][] | string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  let single: [string, string][] | string;
  try {
    single = pairs(codec.flatten(bytes, format));
  } catch (err) {
    if (!isLmjError(err)) throw err;
    single = err.code;
  }
  const [batch] = codec.flattenBatch([bytes], format);
  expect(batch!.ok ? pairs(batch!.flat) : batch!.error.code).toEqual(single);
  return single;
}

describe.each(codecs)('codec corner cases (%s)', (_name, codec) => {
  describe('indefinite-length items are stored as their definite encoding', () => {
    const cases: [string, string, string][] = [
      // [what, indefinite form, definite form] — each a one-member map {"v": …} or with an indefinite key.
      ['map', 'a1 61 76 bf 61 78 01 61 79 02 ff', 'a1 61 76 a2 61 78 01 61 79 02'],
      ['empty map', 'a1 61 76 bf ff', 'a1 61 76 a0'],
      ['array', 'a1 61 76 9f 01 02 ff', 'a1 61 76 82 01 02'],
      ['empty array', 'a1 61 76 9f ff', 'a1 61 76 80'],
      ['byte string', 'a1 61 76 5f 42 0102 41 03 ff', 'a1 61 76 43 010203'],
      ['empty byte string', 'a1 61 76 5f ff', 'a1 61 76 40'],
      ['text string', 'a1 61 76 7f 62 6869 61 21 ff', 'a1 61 76 63 686921'],
      ['empty text string', 'a1 61 76 7f 60 ff', 'a1 61 76 60'],
      ['text string key', 'a1 7f 61 6b 61 65 ff 01', 'a1 62 6b65 01'],
      ['top-level map', 'bf 61 76 01 ff', 'a1 61 76 01'],
    ];
    it.each(cases)('%s', (_what, indefinite, definite) => {
      const want = run(codec, hex(definite), 'cbor');
      expect(typeof want).not.toBe('string');
      expect(run(codec, hex(indefinite), 'cbor')).toEqual(want);
      expect(run(codec, hex(indefinite), 'auto')).toEqual(want);
    });

    it('keys spelled in chunks collide with their definite spelling (last one wins)', () => {
      expect(run(codec, hex('a2 62 6b65 01 7f 61 6b 61 65 ff 02'), 'cbor')).toEqual([['ke', '02']]);
    });

    const malformed: [string, string][] = [
      ['a chunk of another major type', 'a1 61 76 7f 41 61 ff'],
      ['a nested indefinite chunk', 'a1 61 76 5f 5f 41 01 ff ff'],
      ['a chunk that is not a string', 'a1 61 76 5f 01 ff'],
      ['a code point split across text chunks', 'a1 61 76 7f 61 c3 61 a9 ff'],
      ['a missing break', 'a1 61 76 7f 61 61'],
    ];
    it.each(malformed)('BAD_CBOR for %s', (_what, payload) => {
      expect(run(codec, hex(payload), 'cbor')).toBe('BAD_CBOR');
    });
  });

  describe('auto mode names the real reason for JSON that is not an object', () => {
    it.each(['[1,2]', '[]', '42', '-1.5', '0', 'null', 'true', 'false', '"x"', ' \n[{"a":1}]'])('%s → NOT_AN_OBJECT', (p) => {
      expect(run(codec, p)).toBe('NOT_AN_OBJECT');
      expect(run(codec, p, 'json')).toBe('NOT_AN_OBJECT');
    });
    it('malformed JSON that starts like JSON is BAD_JSON, not BAD_CBOR', () => {
      expect(run(codec, '[1,')).toBe('BAD_JSON');
      expect(run(codec, 'nul')).toBe('BAD_JSON');
    });
    it('a CBOR map is still detected as CBOR', () => {
      expect(run(codec, hex('a1 61 61 01'))).toEqual([['a', '01']]);
      expect(run(codec, hex('81 01'))).toBe('NOT_AN_OBJECT');
    });
  });

  describe('a leading UTF-8 byte order mark is skipped', () => {
    const bom = (s: string): Buffer => Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(s)]);
    it('in json and auto mode', () => {
      expect(run(codec, bom('{"a":1}'), 'json')).toEqual([['a', '01']]);
      expect(run(codec, bom(' {"a":1}'))).toEqual([['a', '01']]);
      expect(run(codec, bom('[1]'))).toBe('NOT_AN_OBJECT');
    });
    it('only once and only at the start', () => {
      expect(run(codec, Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), bom('{"a":1}')]), 'json')).toBe('BAD_JSON');
      expect(run(codec, Buffer.concat([Buffer.from(' '), bom('{"a":1}')]), 'json')).toBe('BAD_JSON');
      expect(run(codec, bom(''), 'json')).toBe('BAD_JSON');
    });
  });

  describe('JSON integers are exact, never rounded', () => {
    it('integer literals beyond 2^53 are stored as exact CBOR integers up to 64 bits', () => {
      const f = run(
        codec,
        '{"a":9007199254740992,"b":9007199254740993,"c":18446744073709551615,"d":-18446744073709551616,"e":-9007199254740993,"f":1733000000000000001,"g":-0,"h":9007199254740991}',
        'json',
      );
      expect(f).toEqual([
        ['a', '1b0020000000000000'],
        ['b', '1b0020000000000001'],
        ['c', '1bffffffffffffffff'],
        ['d', '3bffffffffffffffff'],
        ['e', '3b0020000000000000'],
        ['f', '1b180cda5173c08001'],
        ['g', 'fb8000000000000000'],
        ['h', '1b001fffffffffffff'],
      ]);
    });
    it('beyond 64 bits is INTEGER_OUT_OF_RANGE, e.g. 2^64', () => {
      expect(run(codec, '{"a":18446744073709551616}', 'json')).toBe('INTEGER_OUT_OF_RANGE');
      expect(run(codec, '{"a":[1,-18446744073709551617]}')).toBe('INTEGER_OUT_OF_RANGE');
      expect(run(codec, `{"a":1${'0'.repeat(400)}}`)).toBe('INTEGER_OUT_OF_RANGE');
    });
    it('counts only on the final tree: an overwritten huge integer is no error', () => {
      expect(run(codec, '{"a":18446744073709551616,"a":1}', 'json')).toEqual([['a', '01']]);
      expect(run(codec, '{"":1,"a":18446744073709551616}', 'json')).toBe('EMPTY_KEY');
      expect(run(codec, '{"a":1e400,"b":18446744073709551616}', 'json')).toBe('NON_FINITE');
      expect(run(codec, `{"a":18446744073709551616,"${'k'.repeat(494)}":1}`, 'json')).toBe('INTEGER_OUT_OF_RANGE');
    });
    it('numbers with a fraction or exponent keep double semantics', () => {
      expect(run(codec, '{"a":18446744073709551616.0,"b":1e19,"c":9007199254740993e0}', 'json')).toEqual([
        ['a', 'fb43f0000000000000'],
        ['b', 'fb43e158e460913d00'],
        ['c', 'fb4340000000000000'],
      ]);
    });
  });
});
