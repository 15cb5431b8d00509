/**
 * LMJCore engine benchmark: the engine against raw lmdb-js doing the same puts/gets
 * on the same two databases, in the same run. Median of RUNS runs, fresh temp dirs.
 *
 *   npm run build:ts && node dist/bench/core.js        (or: npx tsx bench/core.ts)
 *
 * Write: OBJECTS objects × 8 members (8–16-byte values), PER_TXN objects per
 * transaction, `safe` durability, timed until everything is durable.
 *   floor = faster of raw sync transactions and raw lmdb-js async batched puts.
 * Read: random objGet / memberGet / memberValue vs raw gets of the same keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCodec } from '../src/codec/index.js';
import { MARKER } from '../src/core/bytes.js';
import { openStore, type LmjStore, type WriteTxn } from '../src/core/index.js';
import { closeHandles, openHandles, type LmdbHandles } from '../src/core/lmdb-env.js';
import { median, printRateTable, type RateRow } from './lib/report.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const OBJECTS = Number(process.env['BENCH_OBJECTS'] ?? 100_000);
const PER_TXN = 1000;
const READS = 200_000;
/** objGet reads 8 members per op: a quarter as many ops keeps runs comparable in time. */
const OBJ_READS = READS / 4;
const NAMES = ['temp', 'hum', 'pres', 'volt', 'rssi', 'seq', 'ts', 'fw'].map((n) => Buffer.from(n));
const MAP_SIZE = 256 * 1024 * 1024;
const NO_DUP = { noDupData: true };
let cpuRows: RateRow[] = [];
let readCpuRows: RateRow[] = [];
const RAW_OBJ = 'raw objGet (getValues + 8 gets)';
const RAW_GET = 'raw member get (prebuilt key)';

/** Values of 8..16 bytes, varied per object and member, built before timing. */
function makeValues(): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 0; i < OBJECTS; i++) {
    out.push(NAMES.map((_, m) => Buffer.from(`${m}:${(i * 7919 + m * 104729).toString(36)}`.padEnd(8 + ((i + m) % 9), '.'))));
  }
  return out;
}

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'lmj-bench-core-'));
}

/**
 * CPU-time rates per case name, collected next to the wall-clock rates: on a shared
 * 2-core machine the wall clock also measures everyone else's load, CPU time does not
 * (it does not count fsync waits either, so targets are judged on wall-clock rates).
 */
const cpuRates = new Map<string, number[]>();

async function timed(name: string, run: (dir: string) => Promise<void> | void): Promise<number> {
  const dir = freshDir();
  try {
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    await run(dir);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const list = cpuRates.get(name) ?? [];
    list.push(OBJECTS / ((cpu.user + cpu.system) / 1e6));
    cpuRates.set(name, list);
    return OBJECTS / secs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function engineBatch(t: WriteTxn, values: Buffer[][], from: number): void {
  for (let i = from; i < from + PER_TXN; i++) {
    const p = t.objCreate();
    const vs = values[i]!;
    for (let m = 0; m < NAMES.length; m++) t.memberPut(p, NAMES[m]!, vs[m]!);
  }
}

/** The same puts the engine makes (marker, names, values), without its checks. */
function rawBatch(h: LmdbHandles, values: Buffer[][], from: number, sync: boolean): void {
  const codec = getCodec();
  for (let i = from; i < from + PER_TXN; i++) {
    const p = codec.newPointer(0x01, 0);
    const vs = values[i]!;
    if (sync) h.set.putSync(p, MARKER);
    else void (h.set as unknown as { put(k: Buffer, v: Buffer): Promise<boolean> }).put(p, MARKER);
    for (let m = 0; m < NAMES.length; m++) {
      const name = NAMES[m]!;
      const key = Buffer.concat([p, name]);
      if (sync) {
        h.set.putSync(p, name, NO_DUP);
        h.main.putSync(key, vs[m]!);
      } else {
        const set = h.set as unknown as { put(k: Buffer, v: Buffer, o: object): Promise<boolean> };
        const main = h.main as unknown as { put(k: Buffer, v: Buffer): Promise<boolean> };
        void set.put(p, name, NO_DUP);
        void main.put(key, vs[m]!);
      }
    }
  }
}

/**
 * Runs every case once per round, rotating the order each round, so a change in the
 * machine's load (other engineers share these 2 cores) hits all cases alike.
 * One unmeasured warmup round first.
 */
async function interleaved(cases: { name: string; run: (dir: string) => Promise<void> }[]): Promise<Map<string, number[]>> {
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) await timed(c.name, c.run);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length]!;
      rates.get(c.name)!.push(await timed(c.name, c.run));
    }
  }
  return rates;
}

async function writeRows(values: Buffer[][]): Promise<RateRow[]> {
  const rates = await interleaved([
    {
      name: 'engine write (sync)',
      run: async (dir) => {
        const s = openStore(dir, { mapSize: MAP_SIZE });
        for (let i = 0; i < OBJECTS; i += PER_TXN) s.write((t) => engineBatch(t, values, i));
        await s.close();
      },
    },
    {
      name: 'engine writeAsync',
      run: async (dir) => {
        const s = openStore(dir, { mapSize: MAP_SIZE });
        const all: Promise<void>[] = [];
        for (let i = 0; i < OBJECTS; i += PER_TXN) all.push(s.writeAsync((t) => engineBatch(t, values, i)));
        await Promise.all(all);
        await s.close();
      },
    },
    {
      name: 'raw sync txns',
      run: async (dir) => {
        const h = openHandles(dir, 'safe', MAP_SIZE, false);
        for (let i = 0; i < OBJECTS; i += PER_TXN) h.main.transactionSync(() => rawBatch(h, values, i, true));
        await closeHandles(h);
      },
    },
    {
      name: 'raw async batched puts',
      run: async (dir) => {
        const h = openHandles(dir, 'safe', MAP_SIZE, false);
        for (let i = 0; i < OBJECTS; i += PER_TXN) rawBatch(h, values, i, false);
        // lmdb-js batches the queued puts into its own commits; resolved once durable.
        await (h.root as unknown as { committed: Promise<unknown> }).committed;
        await closeHandles(h);
      },
    },
  ]);
  const engineSync = rates.get('engine write (sync)')!;
  const engineAsync = rates.get('engine writeAsync')!;
  const rawSync = rates.get('raw sync txns')!;
  const rawAsync = rates.get('raw async batched puts')!;
  const floorName = median(rawSync) >= median(rawAsync) ? 'raw sync txns' : 'raw async batched puts';
  // Warmup runs are recorded too; keep the measured ones (the last RUNS).
  const cpu = (n: string): number[] => (cpuRates.get(n) ?? []).slice(-RUNS);
  const cpuFloor = median(cpu('raw sync txns')) >= median(cpu('raw async batched puts')) ? 'raw sync txns' : 'raw async batched puts';
  cpuRows = ['raw sync txns', 'raw async batched puts', 'engine write (sync)', 'engine writeAsync'].map((n) => ({
    name: `${n} (cpu)`,
    rates: cpu(n),
    unit: 'obj/cpu-s',
    ...(n.startsWith('engine') ? { baseline: `${cpuFloor} (cpu)`, targetRatio: 0.85 } : {}),
  }));
  return [
    { name: 'raw sync txns', rates: rawSync, unit: 'obj/s' },
    { name: 'raw async batched puts', rates: rawAsync, unit: 'obj/s' },
    { name: 'engine write (sync)', rates: engineSync, baseline: floorName, targetRatio: 0.85, targetRate: 35_000, unit: 'obj/s' },
    { name: 'engine writeAsync', rates: engineAsync, baseline: floorName, targetRatio: 0.85, targetRate: 35_000, unit: 'obj/s' },
  ];
}

async function readRows(values: Buffer[][]): Promise<RateRow[]> {
  const dir = freshDir();
  try {
    const s: LmjStore = openStore(dir, { mapSize: MAP_SIZE });
    const ptrs: Buffer[] = [];
    for (let i = 0; i < OBJECTS; i += PER_TXN) {
      s.write((t) => {
        for (let j = i; j < i + PER_TXN; j++) {
          const p = t.objCreate();
          ptrs.push(p);
          for (let m = 0; m < NAMES.length; m++) t.memberPut(p, NAMES[m]!, values[j]![m]!);
        }
      });
    }
    // A deterministic pseudo-random order (LCG), the same for every case.
    const order = new Uint32Array(READS);
    let x = 12345;
    for (let i = 0; i < READS; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      order[i] = x % OBJECTS;
    }
    const memberKeys = Array.from(order, (o, i) => Buffer.concat([ptrs[o]!, NAMES[i % NAMES.length]!]));
    let sink = 0;
    await s.close();
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    /** Wall and CPU rates of one case; round 0 is an unmeasured warmup. */
    const measure = (name: string, ops: number, round: number, fn: () => void): void => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      fn();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      if (round === 0) return;
      (wall.get(name) ?? wall.set(name, []).get(name)!).push(ops / secs);
      (cpu.get(name) ?? cpu.set(name, []).get(name)!).push(ops / ((c.user + c.system) / 1e6));
    };
    // One environment per path per process (LMDB rule): raw and engine phases alternate
    // each round (reopening between them, untimed) so load changes hit both alike.
    for (let round = 0; round <= RUNS; round++) {
      const h = openHandles(dir, 'safe', MAP_SIZE, true);
      measure(RAW_OBJ, OBJ_READS, round, () => {
        for (let i = 0; i < OBJ_READS; i++) {
          const p = ptrs[order[i]!]!;
          for (const name of h.set.getValues(p)) if (h.main.getBinary(Buffer.concat([p, name])) !== undefined) sink++;
        }
      });
      measure(RAW_GET, READS, round, () => {
        for (let i = 0; i < READS; i++) sink += h.main.getBinary(memberKeys[i]!)!.length;
      });
      await closeHandles(h);
      const r: LmjStore = openStore(dir, { readOnly: true });
      measure('engine objGet', OBJ_READS, round, () =>
        r.read((t) => {
          for (let i = 0; i < OBJ_READS; i++) sink += t.objGet(ptrs[order[i]!]!).members.length;
        }),
      );
      measure('engine memberGet', READS, round, () =>
        r.read((t) => {
          for (let i = 0; i < READS; i++) sink += t.memberGet(ptrs[order[i]!]!, NAMES[i % 8]!).length;
        }),
      );
      measure('engine memberValue', READS, round, () =>
        r.read((t) => {
          for (let i = 0; i < READS; i++) sink += t.memberValue(ptrs[order[i]!]!, NAMES[i % 8]!)!.length;
        }),
      );
      await r.close();
    }
    if (sink < 0) console.log(sink);
    const rows = (m: Map<string, number[]>, unit: string, suffix: string, withTargets: boolean): RateRow[] => [
      { name: RAW_OBJ + suffix, rates: m.get(RAW_OBJ)!, unit },
      { name: 'engine objGet' + suffix, rates: m.get('engine objGet')!, baseline: RAW_OBJ + suffix, unit, ...(withTargets ? { targetRate: 150_000 } : {}) },
      { name: RAW_GET + suffix, rates: m.get(RAW_GET)!, unit },
      { name: 'engine memberGet' + suffix, rates: m.get('engine memberGet')!, baseline: RAW_GET + suffix, unit, ...(withTargets ? { targetRate: 450_000 } : {}) },
      { name: 'engine memberValue' + suffix, rates: m.get('engine memberValue')!, baseline: RAW_GET + suffix, unit, ...(withTargets ? { targetRate: 450_000 } : {}) },
    ];
    readCpuRows = rows(cpu, 'get/cpu-s', ' (cpu)', false);
    return rows(wall, 'get/s', '', true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MANY_STORES = Number(process.env['BENCH_STORES'] ?? 100);
const MANY_ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 50);

/**
 * MANY_STORES stores (one LMDB env each, as the gateway keeps one per device), MANY_ROUNDS
 * rounds of one small durable write to every store at once, `safe` durability. Baseline:
 * raw lmdb-js `transactionSync` on the same databases, committing (and fsyncing) on the
 * main thread one store after another. Engine: `writeAsync`, which commits on the libuv
 * threadpool, the stores in parallel. Rate = durable commits per second.
 */
async function manyStoresRows(): Promise<RateRow[]> {
  const cases = ['raw', 'engine'] as const;
  const rates = new Map<string, number[]>(cases.map((c) => [c, []]));
  const value = Buffer.from('21.5C');
  for (let round = -1; round < RUNS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const which = cases[(Math.max(round, 0) + k) % cases.length]!;
      const dir = freshDir();
      const raw = which === 'raw' ? Array.from({ length: MANY_STORES }, (_, i) => openHandles(join(dir, `d${i}`), 'safe', MAP_SIZE, false)) : [];
      const stores = which === 'engine' ? Array.from({ length: MANY_STORES }, (_, i) => openStore(join(dir, `d${i}`))) : [];
      try {
        const start = process.hrtime.bigint();
        for (let r = 0; r < MANY_ROUNDS; r++) {
          if (which === 'raw') {
            for (const h of raw) h.main.transactionSync(() => rawObject(h, r, value));
          } else {
            await Promise.all(stores.map((s) => s.writeAsync((t) => t.memberPut(t.objCreate(), NAMES[0]!, value))));
          }
        }
        const secs = Number(process.hrtime.bigint() - start) / 1e9;
        if (round >= 0) rates.get(which)!.push((MANY_STORES * MANY_ROUNDS) / secs);
      } finally {
        await Promise.all([...stores.map((s) => s.close()), ...raw.map((h) => closeHandles(h))]);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return [
    { name: 'raw lmdb-js transactionSync, store after store', rates: rates.get('raw')!, unit: 'commits/s' },
    { name: 'engine writeAsync, all stores at once', rates: rates.get('engine')!, baseline: 'raw lmdb-js transactionSync, store after store', unit: 'commits/s' },
  ];
}

/** One object with one member written the raw way: marker + name in `set`, value in `main`. */
function rawObject(h: LmdbHandles, round: number, value: Buffer): void {
  const ptr = Buffer.alloc(17);
  ptr[0] = 0x01;
  ptr.writeUInt32BE(round + 1, 13);
  h.set.putSync(ptr, NAMES[0]!, NO_DUP);
  h.main.putSync(Buffer.concat([ptr, NAMES[0]!]), value);
}

/** Runs the core benchmark and prints its tables (BENCH_ONLY=many: only the many-stores one). */
export async function runCoreBench(): Promise<void> {
  const threads = process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)';
  printRateTable(
    `${MANY_STORES} stores x ${MANY_ROUNDS} rounds of one writeAsync each, concurrently, safe (UV_THREADPOOL_SIZE ${threads})`,
    await manyStoresRows(),
  );
  if (process.env['BENCH_ONLY'] === 'many') return;
  const values = makeValues();
  console.log(`core bench: ${OBJECTS} objects x 8 members, ${PER_TXN}/txn, safe durability, ${RUNS} runs, codec ${getCodec().kind}`);
  printRateTable(`LMJCore write (${OBJECTS} objects, until durable)`, await writeRows(values));
  printRateTable('LMJCore write, per CPU-second of this process (all threads; excludes fsync waits)', cpuRows);
  printRateTable(`LMJCore read (${OBJECTS} objects; ${READS} random member gets / ${OBJ_READS} objGets per run)`, await readRows(values));
  printRateTable('LMJCore read, per CPU-second of this process', readCpuRows);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runCoreBench().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
