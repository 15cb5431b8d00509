/**
 * Test data written with the real ingest model: payloads flattened by the codec and
 * applied with `applyReadings` (what the gateway does per commit group) into real
 * device instances under DIR/devices/<id>/, plus the same rows in SQLite as the
 * independent reference for SQL tests.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { getCodec } from '../../src/codec/index.js';
import { openStore } from '../../src/core/index.js';
import { applyReadings, messageIdentity } from '../../src/core/telemetry/index.js';

/** One reading as stored: device, element ts, pointer hex and the JSON payload. */
export interface StoredReading {
  device: string;
  ts: number;
  ptr: string;
  payload: Record<string, unknown>;
}

/** Writes `payloads` (received at `receivedAt`) as readings of `device`, `batch` per transaction. */
export async function writeReadings(
  dataDir: string,
  device: string,
  payloads: readonly { payload: Record<string, unknown>; receivedAt: number }[],
  batch = 500,
): Promise<StoredReading[]> {
  const codec = getCodec();
  const store = openStore(join(dataDir, 'devices', device), { durability: 'fast', partition: codec.partitionOf(device) });
  const out: StoredReading[] = [];
  try {
    for (let i = 0; i < payloads.length; i += batch) {
      const part = payloads.slice(i, i + batch);
      const inputs = part.map(({ payload, receivedAt }) => {
        const raw = Buffer.from(JSON.stringify(payload));
        return { flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt };
      });
      const outcomes = store.write((txn) => applyReadings(txn, device, inputs));
      outcomes.forEach((o, j) => {
        if (o.status === 'stored') out.push({ device, ts: o.ts, ptr: o.ptr.toString('hex'), payload: part[j]?.payload ?? {} });
      });
    }
  } finally {
    await store.close();
  }
  return out;
}

/** A payload's scalar leaves by flattened path (`env.hum`), as the codec names them (objects only, no arrays). */
export function flatValues(payload: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatValues(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** SQLite column type of a JSON value. */
function affinity(v: unknown): string {
  return typeof v === 'number' ? 'REAL' : 'TEXT';
}

/**
 * An in-memory SQLite database with `readings(device, ts, ptr, <path>…)` holding the
 * same rows (one column per flattened path), and the first/last aggregates
 * as first_by(ts, device, x) / last_by(ts, device, x).
 */
export function sqliteReadings(rows: readonly StoredReading[], paths: readonly string[]): Database.Database {
  const db = new Database(':memory:');
  db.pragma('case_sensitive_like = ON');
  const flat = rows.map((r) => flatValues(r.payload));
  const sample = (p: string): unknown => flat.find((f) => f[p] !== undefined && f[p] !== null)?.[p];
  const cols = paths.map((p) => `"${p}" ${affinity(sample(p))}`).join(', ');
  db.exec(`CREATE TABLE readings (device TEXT, ts INTEGER, ptr TEXT${cols === '' ? '' : `, ${cols}`})`);
  db.exec('CREATE INDEX readings_device_ts ON readings (device, ts)');
  const ins = db.prepare(`INSERT INTO readings VALUES (${['?', '?', '?', ...paths.map(() => '?')].join(', ')})`);
  db.transaction(() => {
    rows.forEach((r, i) => {
      ins.run(r.device, r.ts, r.ptr, ...paths.map((p) => {
        const v = flat[i]?.[p];
        return typeof v === 'boolean' ? Number(v) : (v ?? null);
      }));
    });
  })();
  const pick = (better: (a: [number, string], b: [number, string]) => boolean) => ({
    start: () => null as null | { k: [number, string]; v: unknown },
    step: (acc: null | { k: [number, string]; v: unknown }, ts: number, dev: string, v: unknown) => {
      if (v === null) return acc;
      const k: [number, string] = [ts, dev];
      return acc === null || better(k, acc.k) ? { k, v } : acc;
    },
    result: (acc: null | { k: [number, string]; v: unknown }) => (acc === null ? null : acc.v),
  });
  const lt = (a: [number, string], b: [number, string]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  db.aggregate('first_by', pick((a, b) => lt(a, b)));
  db.aggregate('last_by', pick((a, b) => !lt(a, b)));
  return db;
}

/** Deterministic PRNG (mulberry32) for generated data and queries. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Paths of {@link writeFleet} payloads. */
export const FLEET_PATHS = ['temp', 'hum', 'mode', 'env.p', 'seq', 'opt'];

/**
 * Writes `n` readings for each device, 15 s apart from `t0` (device d offset by d s):
 * temp (real, sometimes integer), hum (int), mode (text), env.p (real), seq, and opt
 * (int, absent in ~30 %). Batches of 97 per transaction, like uneven commit groups.
 */
export async function writeFleet(dir: string, devices: readonly string[], n: number, t0: number, seed: number): Promise<StoredReading[]> {
  const r = rng(seed);
  const modes = ['safe', 'eco', 'boost'];
  const rows: StoredReading[] = [];
  for (const [d, device] of devices.entries()) {
    const payloads = Array.from({ length: n }, (_, i) => {
      const payload: Record<string, unknown> = {
        temp: r() < 0.2 ? Math.round(r() * 40) : Math.round(r() * 4000) / 100,
        hum: Math.round(r() * 100),
        mode: modes[Math.floor(r() * 3)],
        env: { p: Math.round((950 + r() * 100) * 10) / 10 },
        seq: i,
      };
      if (r() < 0.7) payload['opt'] = Math.round(r() * 10);
      return { payload, receivedAt: t0 + i * 15_000 + d * 1000 };
    });
    rows.push(...(await writeReadings(dir, device, payloads, 97)));
  }
  return rows;
}
