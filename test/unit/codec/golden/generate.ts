/**
 * Writes the golden vectors of the codec (test/unit/codec/golden/*.jsonl) with the
 * NATIVE codec, so the portable-only test leg (LMJ_CODEC=portable) compares against
 * stored, reviewed outputs instead of nothing. Regenerate after a deliberate codec
 * rule change, then review the diff:
 *
 *   npx tsx test/unit/codec/golden/generate.ts
 *
 * Inputs: cases from the seeded property generators (../generators.ts, fixed seed),
 * mutated and truncated copies of them, and the hand-picked cases of ./hand-picked.ts.
 * Each line is one case: {"name", "format", "payload" (hex), "text"? (the JSON
 * payload as text, for review, when it is valid UTF-8), "limits"?, "expect"} where
 * "expect" is the outcome key (`path=value,…` in hex, or `!CODE`).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCodec, type FlattenLimits, type PayloadFormat } from '../../../../src/codec/index.js';
import { encodeLoose } from '../cbor-encode.js';
import { prng } from '../codecs.js';
import { DEFAULT_SEED, makeGen, outcomeKey, toJson } from '../generators.js';
import { HAND_PICKED } from './hand-picked.js';
import type { GoldenCase } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const native = loadCodec('native');
/** Generated cases per format: enough to cover every rule, small enough to review. */
const GENERATED = 150;
const MUTATED = 150;
const MUTATED_LIMITS: FlattenLimits = { maxDepth: 3, maxFields: 12 };

function outcome(payload: Buffer, format: PayloadFormat, limits?: FlattenLimits): string {
  const [o] = native.flattenBatch([payload], format, limits);
  return outcomeKey(o!);
}

function generated(format: PayloadFormat): GoldenCase[] {
  const rnd = prng(DEFAULT_SEED + (format === 'json' ? 100 : 101));
  const gen = makeGen(rnd, format === 'cbor');
  const out: GoldenCase[] = [];
  for (let i = 0; i < GENERATED + MUTATED; i++) {
    const v = gen().value;
    let p = format === 'json' ? Buffer.from(toJson(v, rnd), 'utf8') : encodeLoose(v, rnd);
    if (i < GENERATED) {
      out.push({ name: `${format} generated ${i}`, format, payload: p.toString('hex'), expect: outcome(p, format) });
      continue;
    }
    p = Buffer.from(p);
    const r = rnd();
    if (r < 0.4 && p.length > 0) p[Math.floor(rnd() * p.length)] = Math.floor(rnd() * 256);
    if (r > 0.8) p = p.subarray(0, Math.floor(rnd() * p.length));
    out.push({ name: `${format} mutated ${i - GENERATED}`, format, payload: p.toString('hex'), limits: MUTATED_LIMITS, expect: outcome(p, format, MUTATED_LIMITS) });
  }
  return out;
}

function handPicked(): GoldenCase[] {
  return HAND_PICKED.map((c) => {
    const p = Buffer.from(c.payload, 'hex');
    return { ...c, expect: outcome(p, c.format, c.limits) };
  });
}

/** Device ids for the partition vectors: random UTF-16 (lone surrogates included). */
function partitions(): { id: string; partition: number }[] {
  const rnd = prng(DEFAULT_SEED + 113);
  const ids = ['', 'a', 'foobar', 'sensor-1', 'sensor.2', 'dev-\ud800', 'dev-\ufffd', '中文-😀'];
  for (let i = 0; i < 200; i++) {
    ids.push(String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 0xffff))));
  }
  return ids.map((id) => ({ id, partition: native.partitionOf(id) }));
}

/** Adds the reviewable text of a JSON payload that is valid UTF-8. */
function withText(c: GoldenCase): GoldenCase {
  const bytes = Buffer.from(c.payload, 'hex');
  const text = bytes.toString('utf8');
  return c.format === 'json' && Buffer.from(text, 'utf8').equals(bytes) ? { ...c, text } : c;
}

const lines = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const flatten = [...handPicked(), ...generated('json'), ...generated('cbor')].map(withText);
writeFileSync(join(here, 'flatten.jsonl'), lines(flatten));
writeFileSync(join(here, 'partitions.jsonl'), lines(partitions()));
process.stdout.write(`golden: ${flatten.length} flatten cases, partitions written to ${here}\n`);
