import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import { PointerGenerator } from '../../../src/codec/portable/pointer.js';
import { codecs } from './codecs.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isLmjError(err) ? err.code : `not LmjError: ${String(err)}`;
  }
  return undefined;
}

describe.each(codecs)('pointers (%s)', (_name, codec) => {
  it('lays out type, partition, time and a per-process sequence', () => {
    const before = Date.now();
    const p = codec.newPointer(0x02, 0xbeef);
    const after = Date.now();
    expect(p.length).toBe(17);
    expect(p[0]).toBe(0x02);
    expect(p.readUInt16BE(1)).toBe(0xbeef);
    const ms = p.readUIntBE(3, 6);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it('strictly increases and never repeats within a process', () => {
    let prev = codec.newPointer(0x01, 7);
    const seen = new Set<string>([prev.toString('hex')]);
    // One assertion over all pairs: an expect() per pair cost most of this test under qemu.
    const notIncreasing: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const p = codec.newPointer(0x01, 7);
      if (Buffer.compare(prev, p) !== -1) notIncreasing.push(`${i}: ${prev.toString('hex')} then ${p.toString('hex')}`);
      seen.add(p.toString('hex'));
      prev = p;
    }
    expect(notIncreasing).toEqual([]);
    expect(seen.size).toBe(20_001);
  });

  it('refuses bad types and partitions', () => {
    expect(code(() => codec.newPointer(3 as 1, 0))).toBe('INVALID_PARAM');
    expect(code(() => codec.newPointer(1, -1))).toBe('INVALID_PARAM');
    expect(code(() => codec.newPointer(1, 65536))).toBe('INVALID_PARAM');
    expect(code(() => codec.newPointer(1, 1.5))).toBe('INVALID_PARAM');
  });

  it('formats lowercase and parses either case', () => {
    const p = codec.newPointer(0x01, 0xabcd);
    const hex = codec.formatPointer(p);
    expect(hex).toMatch(/^[0-9a-f]{34}$/);
    expect(hex).toBe(p.toString('hex'));
    expect(codec.parsePointer(hex).equals(p)).toBe(true);
    expect(codec.parsePointer(hex.toUpperCase()).equals(p)).toBe(true);
  });

  it('rejects bad pointer text and bytes with INVALID_POINTER', () => {
    const good = '01' + '00'.repeat(16);
    expect(codec.parsePointer(good).equals(Buffer.from(good, 'hex'))).toBe(true);
    for (const bad of [good.slice(1), good + '0', '00' + '00'.repeat(16), '03' + '00'.repeat(16), '0g' + '00'.repeat(16), ' ' + good.slice(1), '', 'é'.repeat(34), '\u0161'.repeat(34), '0\u0131' + '00'.repeat(16)]) {
      expect(code(() => codec.parsePointer(bad)), bad).toBe('INVALID_POINTER');
    }
    expect(code(() => codec.parsePointer(42 as unknown as string))).toBe('INVALID_POINTER');
    expect(code(() => codec.formatPointer(Buffer.alloc(16, 1)))).toBe('INVALID_POINTER');
    expect(code(() => codec.formatPointer(Buffer.alloc(17, 0)))).toBe('INVALID_POINTER');
  });

  it('partitions device ids with FNV-1a-32 folded to 16 bits', () => {
    // FNV-1a-32 reference vectors: "" 811c9dc5, "a" e40c292c, "foobar" bf9cf968.
    expect(codec.partitionOf('')).toBe(0x811c ^ 0x9dc5);
    expect(codec.partitionOf('a')).toBe(0xe40c ^ 0x292c);
    expect(codec.partitionOf('foobar')).toBe(0xbf9c ^ 0xf968);
    expect(codec.partitionOf('dev-\ud800')).toBe(codec.partitionOf('dev-\ufffd'));
  });
});

describe('pointer generator', () => {
  it('gives each generator its own nonce so processes never share a sequence', () => {
    const a = new PointerGenerator().next(1, 0, 1000);
    const b = new PointerGenerator().next(1, 0, 1000);
    expect(a.subarray(0, 9).equals(b.subarray(0, 9))).toBe(true);
    expect(a.subarray(9, 14).equals(b.subarray(9, 14))).toBe(false);
  });

  it('keeps time monotonic when the clock steps back', () => {
    const g = new PointerGenerator(Buffer.alloc(5));
    const first = g.next(1, 0, 5000);
    const back = g.next(1, 0, 4000);
    expect(back.readUIntBE(3, 6)).toBe(5000);
    expect(Buffer.compare(first, back)).toBe(-1);
    expect(back.subarray(14).equals(Buffer.of(0, 0, 1))).toBe(true);
  });
});
