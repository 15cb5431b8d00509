/**
 * Codec benchmark: native vs portable flatten (JSON and CBOR, single payloads
 * and batches of 256) and pointer generation. Median of 7 runs, ratios against
 * the portable codec measured in the same run.
 *
 *   npm run build:native && npm run build:ts && node dist/bench/codec.js
 */
import { fileURLToPath } from 'node:url';
import { encode } from 'cbor-x';
import { loadCodec, portableCodec, type Codec, type PayloadFormat } from '../src/codec/index.js';
import { printRateTable, repeat, type RateRow } from './lib/report.js';

const RUNS = 7;
/** A pointer for the format benchmark. */
const ptr = portableCodec.newPointer(1, 7);
const BATCH = 256;

function envReading(i: number): Record<string, unknown> {
  return { sensor: 'bme680-livingroom', ts: 1718000000000 + i, temp: 21.5 + (i % 7) * 0.1, hum: 40 + (i % 5), pres: 1013.2, co2: 412 + (i % 9), voc: 0.12, bat: 3.71, rssi: -67 };
}

function meterReading(i: number): Record<string, unknown> {
  return {
    ts: 1718000000000 + i,
    seq: i,
    meter: { id: 'pm-0042', fw: '2.4.1', status: { ok: true, alarms: [] } },
    phases: [1, 2, 3].map((p) => ({ v: 229.8 + p + (i % 3) * 0.01, a: 4.2 * p, pf: 0.97, w: 960.5 * p, var: 120.25 })),
    energy: { import_kwh: 12345.678 + i, export_kwh: 12.5, today: [0.5, 0.75, 1.25, 2.5] },
    freq: 50.01,
    thd: [1.2, 1.4, 1.1],
  };
}

/** Measures ops/s of `fn` doing `ops` operations per call, over ~`ms` per run. */
function rate(fn: () => void, ops: number, ms = 150): () => number {
  return () => {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(ms * 1e6);
    let now = start;
    do {
      fn();
      n += ops;
      now = process.hrtime.bigint();
    } while (now < end);
    return n / (Number(now - start) / 1e9);
  };
}

async function flattenRows(label: string, payloads: Buffer[], format: PayloadFormat, native: Codec): Promise<RateRow[]> {
  const batch = payloads.slice(0, BATCH);
  let k = 0;
  const one = (c: Codec) => rate(() => c.flatten(payloads[k++ % payloads.length]!, format), 1);
  const many = (c: Codec) => rate(() => c.flattenBatch(batch, format), batch.length);
  const base = `${label} portable single`;
  const baseBatch = `${label} portable batch`;
  return [
    { name: base, rates: await repeat(RUNS, one(portableCodec)), unit: 'msg/s' },
    { name: `${label} native single`, rates: await repeat(RUNS, one(native)), baseline: base, unit: 'msg/s' },
    { name: baseBatch, rates: await repeat(RUNS, many(portableCodec)), unit: 'msg/s' },
    { name: `${label} native batch`, rates: await repeat(RUNS, many(native)), baseline: baseBatch, targetRatio: 3, unit: 'msg/s' },
  ];
}

/** Runs the codec benchmark and prints its tables. */
export async function runCodecBench(): Promise<void> {
  const native = loadCodec('native');
  const env = Array.from({ length: BATCH }, (_, i) => envReading(i));
  const meter = Array.from({ length: BATCH }, (_, i) => meterReading(i));
  const json = (xs: object[]) => xs.map((x) => Buffer.from(JSON.stringify(x)));
  const cbor = (xs: object[]) => xs.map((x) => Buffer.from(encode(x)));
  const sizes = `env JSON ${json(env)[0]!.length} B, meter JSON ${json(meter)[0]!.length} B, env CBOR ${cbor(env)[0]!.length} B, meter CBOR ${cbor(meter)[0]!.length} B`;
  const rows: RateRow[] = [
    ...(await flattenRows('env json', json(env), 'json', native)),
    ...(await flattenRows('meter json', json(meter), 'json', native)),
    ...(await flattenRows('env cbor', cbor(env), 'cbor', native)),
    ...(await flattenRows('meter cbor', cbor(meter), 'cbor', native)),
  ];
  printRateTable(`codec flatten (${sizes}; batch = ${BATCH} payloads per call)`, rows);
  // The codecs' newPointer is the JS generator in both (docs/codec.md §0): an addon
  // generator measured 0.2x of it (one Node-API call per 17 bytes) and was removed.
  printRateTable('pointer generation', [
    { name: 'portable newPointer', rates: await repeat(RUNS, rate(() => portableCodec.newPointer(1, 7), 1)), unit: 'ptr/s' },
    { name: 'portable formatPointer', rates: await repeat(RUNS, rate(() => portableCodec.formatPointer(ptr), 1)), unit: 'op/s' },
    { name: 'native formatPointer', rates: await repeat(RUNS, rate(() => native.formatPointer(ptr), 1)), baseline: 'portable formatPointer', unit: 'op/s' },
  ]);
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runCodecBench();
}
