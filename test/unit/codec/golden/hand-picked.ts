/**
 * Hand-picked golden inputs: the rules most likely to change on purpose (CBOR
 * indefinite-length items, a UTF-8 BOM, JSON payloads that are not objects,
 * integers above 2^53) and a few edge cases of docs/codec.md. Their expected
 * outcomes are written by ./generate.ts with the native codec.
 */
import type { GoldenCase } from './types.js';

type Input = Omit<GoldenCase, 'expect'>;

const json = (name: string, text: string): Input => ({ name: `json ${name}`, format: 'json', payload: Buffer.from(text, 'utf8').toString('hex') });
const jsonBytes = (name: string, bytes: number[], text: string): Input => ({
  name: `json ${name}`,
  format: 'json',
  payload: Buffer.concat([Buffer.from(bytes), Buffer.from(text, 'utf8')]).toString('hex'),
});
const cbor = (name: string, hex: string): Input => ({ name: `cbor ${name}`, format: 'cbor', payload: hex.replace(/\s+/g, '') });

/** The hand-picked inputs, in the order they appear in flatten.jsonl. */
export const HAND_PICKED: Input[] = [
  // UTF-8 byte order mark.
  jsonBytes('BOM before an object', [0xef, 0xbb, 0xbf], '{"a":1}'),
  jsonBytes('BOM alone', [0xef, 0xbb, 0xbf], ''),
  // Top level not an object.
  json('array', '[1,2,3]'),
  json('number', '42'),
  json('string', '"x"'),
  json('null', 'null'),
  json('true', 'true'),
  json('empty input', ''),
  json('whitespace only', ' \n'),
  // Integers around and above 2^53.
  json('2^53-1', '{"n":9007199254740991}'),
  json('2^53', '{"n":9007199254740992}'),
  json('2^53+1', '{"n":9007199254740993}'),
  json('-(2^53+1)', '{"n":-9007199254740993}'),
  json('2^64', '{"n":18446744073709551616}'),
  json('1e400 overflows', '{"n":1e400}'),
  json('-0', '{"n":-0}'),
  json('1.0', '{"n":1.0}'),
  // Keys and duplicates.
  json('duplicate: last wins with its subtree', '{"a":{"x":1,"y":2},"b":0,"a":{"z":3}}'),
  json('escaped key equals plain key', '{"a":1,"\\u0061":2}'),
  json('$ key escaped at top only', '{"$meta":1,"o":{"$k":2}}'),
  json('dots and brackets escaped', '{"a.b":1,"a":{"b":2},"c[0]":3,"c":[4]}'),
  json('lone surrogate value', '{"s":"x\\ud800y"}'),
  json('lone surrogate key twin of U+FFFD', '{"\\ud800":1,"\ufffd":2}'),
  json('empty key', '{"":1}'),
  json('empty nested containers', '{"o":{},"l":[],"t":{}}'),
  json('empty top-level object', '{}'),
  json('trailing content', '{"a":1} x'),
  json('escaped NUL in a string', '{"a":"\\u0000"}'),
  jsonBytes('raw invalid UTF-8 byte in a string', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], ''),
  { ...json('deeper than maxDepth 2', '{"a":{"b":{"c":1}}}'), limits: { maxDepth: 2, maxFields: 1024 } },
  { ...json('more fields than maxFields 2', '{"a":1,"b":2,"c":3}'), limits: { maxDepth: 32, maxFields: 2 } },
  // CBOR indefinite-length items.
  cbor('indefinite map', 'bf 61 61 01 61 62 02 ff'),
  cbor('indefinite array in a map', 'a1 61 6c 9f 01 02 03 ff'),
  cbor('empty indefinite array', 'a1 61 6c 9f ff'),
  cbor('indefinite text string value', 'a1 61 73 7f 61 61 61 62 ff'),
  cbor('indefinite byte string value', 'a1 61 62 5f 41 01 41 02 ff'),
  cbor('indefinite text string key', 'a1 7f 61 6b ff 01'),
  cbor('indefinite text with a byte chunk', 'a1 61 73 7f 41 01 ff'),
  cbor('unterminated indefinite map', 'bf 61 61 01'),
  cbor('break outside an indefinite item', 'a1 61 61 ff'),
  cbor('break after a map key', 'bf 61 61 ff'),
  // CBOR integers and floats.
  cbor('uint64 max', 'a1 61 6e 1b ff ff ff ff ff ff ff ff'),
  cbor('nint64 min', 'a1 61 6e 3b ff ff ff ff ff ff ff ff'),
  cbor('2^53+1 as uint', 'a1 61 6e 1b 00 20 00 00 00 00 00 01'),
  cbor('2^53 as double', 'a1 61 6e fb 43 40 00 00 00 00 00 00'),
  cbor('integer-valued half float', 'a1 61 6e f9 3c 00'),
  cbor('non-shortest head 1', 'a1 61 6e 1a 00 00 00 01'),
  cbor('NaN half float', 'a1 61 6e f9 7e 00'),
  cbor('-0 half float', 'a1 61 6e f9 80 00'),
  // CBOR rejections.
  cbor('not a map', '83 01 02 03'),
  cbor('tagged map', 'c1 a1 61 61 01'),
  cbor('bignum tag', 'a1 61 6e c2 41 01'),
  cbor('integer key', 'a1 01 02'),
  cbor('simple value 16', 'a1 61 73 f0'),
  cbor('reserved additional info 28', 'a1 61 6e 1c'),
  cbor('trailing bytes', 'a1 61 61 01 00'),
  cbor('truncated', 'a2 61 61 01'),
  cbor('invalid UTF-8 text', 'a1 61 73 61 ff'),
  cbor('count longer than input', 'a1 61 73 7a ff ff ff ff'),
  cbor('duplicate key: last wins', 'a2 61 61 a1 61 78 01 61 61 02'),
  cbor('undefined value', 'a1 61 75 f7'),
  { ...cbor('deeper than maxDepth 2', 'a1 61 61 a1 61 62 a1 61 63 01'), limits: { maxDepth: 2, maxFields: 1024 } },
  { ...cbor('more fields than maxFields 2', 'a3 61 61 01 61 62 02 61 63 03'), limits: { maxDepth: 32, maxFields: 2 } },
];
