/**
 * Randomized properties over thousands of generated payloads (seeded: a failure
 * prints its seed and case). Native and portable must give identical bytes and
 * identical error codes; every result must match an independent model of the
 * rules (paths built here, values decoded with cbor-x). In the portable-only leg
 * there is no second codec here; golden.test.ts compares it with stored native outputs.
 */
import { decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { isLmjError } from '../../../src/errors.js';
import type { Codec, FlattenOutcome, PayloadFormat } from '../../../src/codec/index.js';
import { codecs, nativeCodec, portableOnly, prng } from './codecs.js';
import { encodeLoose } from './cbor-encode.js';
import { DEFAULT_SEED, hasPathCollision, makeGen, outcomeKey, toJson, utf8Form, type Gen } from './generators.js';

const SEED = Number(process.env['LMJ_PROP_SEED'] ?? DEFAULT_SEED);
/** Fewer cases under emulation (scripts/test-arm64.sh sets 0.25). */
const SCALE = Number(process.env['LMJ_PROP_SCALE'] ?? 1);
const N = (n: number): number => Math.max(100, Math.round(n * SCALE));

function checkModel(o: FlattenOutcome, g: Gen, json: boolean, label: string): void {
  expect(o.ok ? 'ok' : o.error.code, label).toBe('ok');
  if (!o.ok) return;
  const { paths, values } = o.flat;
  for (let i = 1; i < paths.length; i++) expect(Buffer.compare(paths[i - 1]!, paths[i]!), label).toBe(-1);
  const got = new Map(paths.map((p, i) => [p.toString('utf8'), decode(values[i]!)]));
  const norm = (v: unknown): unknown => (typeof v === 'bigint' && (json || (v <= 2n ** 53n && v >= -(2n ** 53n))) ? Number(v) : Buffer.isBuffer(v) || v instanceof Uint8Array ? (json ? 'b' : Buffer.from(v).toString('hex')) : v);
  const expected = new Map([...g.leaves].map(([k, v]) => [utf8Form(k), norm(v)]));
  const actual = new Map([...got].map(([k, v]) => [k, norm(v)]));
  expect(actual, label).toEqual(expected);
}

function runPair(payloads: Uint8Array[], format: PayloadFormat): FlattenOutcome[][] {
  return codecs.map(([, c]) => c.flattenBatch(payloads, format));
}

describe('flatten properties', () => {
  for (const fmt of ['json', 'cbor'] as const) {
    it(`${fmt}: ${codecs.map(([n]) => n).join(' = ')} and the model agree on ${N(2000)} payloads (seed ${SEED})`, async () => {
      const rnd = prng(SEED + (fmt === 'json' ? 0 : 1));
      const gen = makeGen(rnd, fmt === 'cbor');
      const cases: Gen[] = [];
      const payloads: Buffer[] = [];
      for (let i = 0; i < N(2000); i++) {
        const g = gen();
        cases.push(g);
        payloads.push(fmt === 'json' ? Buffer.from(toJson(g.value, rnd), 'utf8') : encodeLoose(g.value, rnd));
      }
      const results = runPair(payloads, fmt);
      let collisions = 0;
      for (let i = 0; i < cases.length; i++) {
        if (i % 100 === 99) await yieldToLoop();
        const label = `seed ${SEED} ${fmt} case ${i}: ${payloads[i]!.toString(fmt === 'json' ? 'utf8' : 'hex')}`;
        const first = results[0]![i]!;
        if (hasPathCollision(cases[i]!)) {
          // Two different JSON keys with one UTF-8 form: rejected (docs/codec.md §7.5).
          collisions++;
          expect(first.ok ? 'ok' : first.error.code, label).toBe('UNSUPPORTED_VALUE');
        } else {
          checkModel(first, cases[i]!, fmt === 'json', label);
        }
        for (const r of results.slice(1)) expect(outcomeKey(r[i]!), label).toBe(outcomeKey(first));
        // Single calls give what the batch gave.
        if (i % 50 === 0) {
          for (const [, c] of codecs) expect(outcomeKey(single(c, payloads[i]!, fmt)), label).toBe(outcomeKey(first));
        }
      }
      // Every case is checked against the model; the collision cases (JSON only) are
      // checked for their error code instead, and must stay a small share (≤ 5 %;
      // 46 of 2,000 with the default seed).
      if (fmt === 'cbor') expect(collisions).toBe(0);
      else expect(collisions).toBeGreaterThan(0);
      expect(collisions / cases.length).toBeLessThanOrEqual(0.05);
      process.stdout.write(`${fmt}: ${collisions} of ${cases.length} cases are lone-surrogate key collisions\n`);
    });
  }

  it(`mutated and truncated payloads give the same bytes or the same error code (seed ${SEED})`, async () => {
    const rnd = prng(SEED + 7);
    for (const fmt of ['json', 'cbor'] as const) {
      const gen = makeGen(rnd, fmt === 'cbor');
      const payloads: Buffer[] = [];
      for (let i = 0; i < N(1500); i++) {
        const g = gen();
        const p = fmt === 'json' ? Buffer.from(toJson(g.value, rnd), 'utf8') : encodeLoose(g.value, rnd);
        const m = Buffer.from(p);
        const r = rnd();
        if (r < 0.4 && m.length > 0) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
        payloads.push(r > 0.8 ? m.subarray(0, Math.floor(rnd() * m.length)) : m);
      }
      const limits = { maxDepth: 3, maxFields: 12 };
      await yieldToLoop();
      const results = codecs.map(([, c]) => c.flattenBatch(payloads, fmt, limits));
      const errors = new Set<string>();
      for (let i = 0; i < payloads.length; i++) {
        const first = results[0]![i]!;
        if (!first.ok) errors.add(first.error.code);
        for (const r of results.slice(1)) {
          expect(outcomeKey(r[i]!), `seed ${SEED} ${fmt} case ${i}: ${payloads[i]!.toString('hex')}`).toBe(outcomeKey(first));
        }
      }
      expect(errors.size).toBeGreaterThanOrEqual(2);
    }
  });
});

/**
 * Lets the worker's event loop run between chunks: under qemu a long synchronous
 * test starves vitest's worker RPC ("Timeout calling onTaskUpdate").
 */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function single(c: Codec, p: Uint8Array, fmt: PayloadFormat): FlattenOutcome {
  try {
    return { ok: true, flat: c.flatten(p, fmt) };
  } catch (err) {
    if (isLmjError(err)) return { ok: false, error: err };
    throw err;
  }
}

describe('pointer properties', () => {
  it(`format/parse round-trips random pointers on ${codecs.map(([n]) => n).join(' and ')}`, () => {
    const rnd = prng(SEED + 11);
    for (let i = 0; i < N(2000); i++) {
      const p = Buffer.from(Array.from({ length: 17 }, () => Math.floor(rnd() * 256)));
      p[0] = rnd() < 0.5 ? 1 : 2;
      const texts = codecs.map(([, c]) => c.formatPointer(p));
      for (const t of texts) expect(t).toBe(p.toString('hex'));
      for (const [, c] of codecs) expect(c.parsePointer(texts[0]!.toUpperCase()).equals(p)).toBe(true);
    }
  });

  it('partitions agree between codecs on random device ids', () => {
    const rnd = prng(SEED + 13);
    for (let i = 0; i < N(2000); i++) {
      const id = String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 0xffff)));
      const parts = codecs.map(([, c]) => c.partitionOf(id));
      for (const p of parts) expect(p).toBe(parts[0]);
    }
  });

  // Only registered when the native leg exists (LMJ_CODEC=portable runs drop it).
  if (!portableOnly) {
    it('both codecs draw from one generator: interleaved pointers strictly increase', () => {
      let prev = codecs[0]![1].newPointer(1, 9);
      for (let i = 0; i < 1000; i++) {
        const next = (i % 2 === 0 ? nativeCodec! : codecs[0]![1]).newPointer(1, 9);
        expect(Buffer.compare(prev, next)).toBe(-1);
        prev = next;
      }
    });
  }
});
