import { describe, expect, it } from 'vitest';
import { cborBytes, cborText, cborUint, decodeValue, isReference } from '../../../../src/core/telemetry/values.js';
import { messageIdentity } from '../../../../src/core/telemetry/identity.js';
import { decodeElement, encodeElement, ROOT_PTR } from '../../../../src/core/telemetry/model.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('canonical CBOR values', () => {
  it('encodes uints in the shortest form', () => {
    expect(cborUint(0).toString('hex')).toBe('00');
    expect(cborUint(23).toString('hex')).toBe('17');
    expect(cborUint(24).toString('hex')).toBe('1818');
    expect(cborUint(65535).toString('hex')).toBe('19ffff');
    expect(cborUint(65536).toString('hex')).toBe('1a00010000');
    expect(cborUint(1_700_000_000_000).toString('hex')).toBe('1b0000018bcfe56800');
    expect(() => cborUint(-1)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
  });

  it('encodes text and bytes', () => {
    expect(cborText('a').toString('hex')).toBe('6161');
    expect(cborBytes(Buffer.alloc(16)).toString('hex')).toBe(`50${'00'.repeat(16)}`);
  });

  it('decodes every scalar the codec writes', () => {
    expect(decodeValue(hex('f6'))).toBe(null);
    expect(decodeValue(hex('f7'))).toBe(null);
    expect(decodeValue(hex('f4'))).toBe(false);
    expect(decodeValue(hex('f5'))).toBe(true);
    expect(decodeValue(hex('1903e8'))).toBe(1000);
    expect(decodeValue(hex('3903e7'))).toBe(-1000);
    expect(decodeValue(hex('fb3ff8000000000000'))).toBe(1.5);
    expect(decodeValue(hex('6568656c6c6f'))).toBe('hello');
    expect(decodeValue(hex('43010203'))).toEqual({ $bytes: 'AQID' });
    expect(decodeValue(hex('a0'))).toEqual({});
    expect(decodeValue(hex('80'))).toEqual([]);
    expect(decodeValue(hex('1bffffffffffffffff'))).toEqual({ $int: '18446744073709551615' });
    expect(decodeValue(hex('3bffffffffffffffff'))).toEqual({ $int: '-18446744073709551616' });
    expect(decodeValue(cborUint(1_700_000_000_000))).toBe(1_700_000_000_000);
  });

  it('refuses malformed values', () => {
    for (const bad of ['', '19', '6568', 'f6f6', 'c0', 'ff', '5f']) expect(() => decodeValue(hex(bad)), bad).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
  });

  it('tells references from scalars', () => {
    expect(isReference(ROOT_PTR)).toBe(true);
    expect(isReference(Buffer.concat([Buffer.from([2]), Buffer.alloc(16)]))).toBe(true);
    expect(isReference(hex('01'))).toBe(false);
    expect(isReference(cborText('x'.repeat(15)))).toBe(false);
  });
});

describe('identity and elements', () => {
  it('identity is the first 16 bytes of SHA-256 of the raw payload', () => {
    const id = messageIdentity(Buffer.from('abc'));
    expect(id.toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223');
    expect(messageIdentity(Buffer.from('abd')).equals(id)).toBe(false);
  });

  it('elements are 8-byte BE ts ‖ pointer and sort by time', () => {
    const ptr = Buffer.concat([Buffer.from([1, 0, 5]), Buffer.alloc(14, 7)]);
    const a = encodeElement(1000, ptr);
    const b = encodeElement(1001, Buffer.concat([Buffer.from([1]), Buffer.alloc(16)]));
    expect(a.length).toBe(25);
    expect(Buffer.compare(a, b)).toBeLessThan(0);
    expect(decodeElement(a)).toEqual({ ts: 1000, ptr });
    expect(() => decodeElement(a.subarray(1))).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }));
  });
});
