/**
 * Golden vectors: every codec of this run must give exactly the outcome the native
 * codec gave when test/unit/codec/golden/*.jsonl was generated and reviewed. This is
 * what the cross-codec comparison means in the portable-only leg (LMJ_CODEC=portable),
 * where there is no native codec to compare with. Regenerate after a deliberate rule
 * change: `npx tsx test/unit/codec/golden/generate.ts`, then review the diff.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import type { Codec, FlattenOutcome } from '../../../src/codec/index.js';
import { codecs } from './codecs.js';
import { outcomeKey } from './generators.js';
import type { GoldenCase } from './golden/types.js';

const read = <T>(file: string): T[] =>
  readFileSync(new URL(`./golden/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

const cases = read<GoldenCase>('flatten.jsonl');
const partitions = read<{ id: string; partition: number }>('partitions.jsonl');

describe('golden vectors', () => {
  it('cover valid payloads and every payload rejection code, in both formats', () => {
    expect(cases.length).toBeGreaterThan(600);
    for (const fmt of ['json', 'cbor']) {
      const own = cases.filter((c) => c.format === fmt);
      expect(own.filter((c) => !c.expect.startsWith('!')).length, fmt).toBeGreaterThan(150);
      const codes = new Set(own.filter((c) => c.expect.startsWith('!')).map((c) => c.expect.slice(1)));
      const wanted = fmt === 'json' ? ['BAD_JSON', 'NOT_AN_OBJECT', 'TOO_DEEP', 'EMPTY_KEY', 'NON_FINITE', 'UNSUPPORTED_VALUE', 'TOO_MANY_FIELDS'] : ['BAD_CBOR', 'NOT_AN_OBJECT', 'TOO_DEEP', 'NON_FINITE', 'UNSUPPORTED_VALUE', 'TOO_MANY_FIELDS'];
      for (const code of wanted) expect(codes.has(code), `${fmt} ${code}`).toBe(true);
    }
    expect(partitions.length).toBeGreaterThan(200);
  });

  describe.each(codecs)('%s', (_name, codec) => {
    it('flattens every stored case to the stored outcome (batch and single calls)', async () => {
      for (const [i, c] of cases.entries()) {
        // Under qemu a long synchronous loop starves vitest's worker RPC ("Timeout calling onTaskUpdate").
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
        const payload = Buffer.from(c.payload, 'hex');
        expect(outcomeKey(codec.flattenBatch([payload], c.format, c.limits)[0]!), `${c.name}: ${c.payload}`).toBe(c.expect);
        expect(outcomeKey(single(codec, c, payload)), `single ${c.name}: ${c.payload}`).toBe(c.expect);
      }
      // One batch per format and limits: slots must not influence each other.
      for (const fmt of ['json', 'cbor'] as const) {
        const group = cases.filter((c) => c.format === fmt && c.limits === undefined);
        expect(group.length).toBeGreaterThan(100);
        const batch = codec.flattenBatch(group.map((c) => Buffer.from(c.payload, 'hex')), fmt);
        expect(batch.map(outcomeKey)).toEqual(group.map((c) => c.expect));
      }
    });

    it('partitions every stored device id to the stored partition', () => {
      expect(partitions.map((p) => codec.partitionOf(p.id))).toEqual(partitions.map((p) => p.partition));
    });
  });
});

function single(codec: Codec, c: GoldenCase, payload: Buffer): FlattenOutcome {
  try {
    return { ok: true, flat: codec.flatten(payload, c.format, c.limits) };
  } catch (err) {
    if (isLmjError(err)) return { ok: false, error: err };
    throw err;
  }
}
