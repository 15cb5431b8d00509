/**
 * Time-bucketed series of numeric paths over one device's readings: per bucket the
 * min, avg, max and count of each requested path. Computed while walking the
 * `readings` set in chunks, so memory is O(buckets × fields), independent of how many
 * readings the range holds (a day of 1 Hz data is 86,400 readings).
 */
import { LmjError } from '../../errors.js';
import type { ReadTxn } from '../types.js';
import { decodeElement, tsPrefix } from './model.js';
import { readRoot } from './root.js';
import { decodeValue } from './values.js';

/** Most buckets per series. */
export const MAX_SERIES_BUCKETS = 5000;
/** Most paths per series. */
export const MAX_SERIES_FIELDS = 16;
/** Elements read from the set per range call: bounds the memory of one step of the walk. */
const CHUNK = 2048;

/** What to aggregate: exact flattened paths over `[from, to)` in `buckets` equal buckets. */
export interface SeriesQuery {
  from: number;
  to: number;
  buckets: number;
  fields: readonly string[];
}

/** Per-bucket aggregates of one path; `null` where a bucket holds no numeric value. */
export interface FieldSeries {
  min: (number | null)[];
  avg: (number | null)[];
  max: (number | null)[];
  count: number[];
  /** Readings in range whose value at this path was present but not a number. */
  nonNumeric: number;
}

/** A bucketed series. Bucket `i` covers `[t[i], t[i] + bucketMs)` (the last one ends at `to`). */
export interface Series {
  from: number;
  to: number;
  buckets: number;
  bucketMs: number;
  /** Start of each bucket, Unix ms. */
  t: number[];
  fields: Record<string, FieldSeries>;
  /** Readings walked in `[from, to)`. */
  readings: number;
}

function badRequest(message: string, details: Record<string, unknown>): LmjError {
  return new LmjError('BAD_REQUEST', message, { details });
}

function checkQuery(q: SeriesQuery): void {
  for (const [name, v] of [['from', q.from], ['to', q.to]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw badRequest(`${name} must be a non-negative integer (Unix ms)`, { [name]: v });
  }
  if (q.to <= q.from) throw badRequest('to must be after from', { from: q.from, to: q.to });
  if (!Number.isSafeInteger(q.buckets) || q.buckets < 1 || q.buckets > MAX_SERIES_BUCKETS) {
    throw badRequest(`buckets must be an integer in 1..${MAX_SERIES_BUCKETS}`, { buckets: q.buckets });
  }
  // Timestamps are whole milliseconds: a narrower bucket could never hold anything of its own.
  if (q.buckets > q.to - q.from) throw badRequest('buckets must not exceed to - from (1 ms per bucket)', { buckets: q.buckets, from: q.from, to: q.to });
  if (q.fields.length === 0 || q.fields.length > MAX_SERIES_FIELDS) {
    throw badRequest(`fields must name 1..${MAX_SERIES_FIELDS} paths`, { fields: q.fields.length });
  }
}

/** Running aggregates of one path (typed arrays: a fixed footprint per bucket). */
class Accumulator {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly sum: Float64Array;
  readonly count: Uint32Array;
  nonNumeric = 0;

  constructor(buckets: number) {
    this.min = new Float64Array(buckets).fill(Infinity);
    this.max = new Float64Array(buckets).fill(-Infinity);
    this.sum = new Float64Array(buckets);
    this.count = new Uint32Array(buckets);
  }

  add(bucket: number, raw: Buffer): void {
    let v: unknown;
    try {
      v = decodeValue(raw);
    } catch {
      this.nonNumeric++;
      return;
    }
    const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN;
    if (!Number.isFinite(n)) {
      this.nonNumeric++;
      return;
    }
    if (n < (this.min[bucket] as number)) this.min[bucket] = n;
    if (n > (this.max[bucket] as number)) this.max[bucket] = n;
    this.sum[bucket] = (this.sum[bucket] as number) + n;
    this.count[bucket] = (this.count[bucket] as number) + 1;
  }

  result(): FieldSeries {
    const n = this.count.length;
    const out: FieldSeries = { min: new Array(n), avg: new Array(n), max: new Array(n), count: Array.from(this.count), nonNumeric: this.nonNumeric };
    for (let i = 0; i < n; i++) {
      const c = this.count[i] as number;
      out.min[i] = c === 0 ? null : (this.min[i] as number);
      out.max[i] = c === 0 ? null : (this.max[i] as number);
      out.avg[i] = c === 0 ? null : (this.sum[i] as number) / c;
    }
    return out;
  }
}

/**
 * A series computed in steps: each {@link SeriesScan.step} walks at most `maxElements`
 * readings in the given transaction and remembers where it stopped, so a caller can
 * spread a long range over several short read transactions (readings are append-only,
 * so later steps only ever see more of the same set) and yield in between.
 */
export class SeriesScan {
  private readonly names: Buffer[];
  private readonly acc: Accumulator[];
  private lower: Buffer;
  private readonly upper: Buffer;
  private walked = 0;
  private finished = false;

  /** Throws BAD_REQUEST for a bad range, bucket count or field list. */
  constructor(readonly query: SeriesQuery) {
    checkQuery(query);
    this.names = query.fields.map((f) => Buffer.from(f, 'utf8'));
    this.acc = query.fields.map(() => new Accumulator(query.buckets));
    this.lower = tsPrefix(query.from);
    this.upper = tsPrefix(query.to);
  }

  /** True once the whole range was walked. */
  get done(): boolean {
    return this.finished;
  }

  /** Walks up to `maxElements` more readings; returns {@link done}. */
  step(txn: ReadTxn, maxElements = Number.MAX_SAFE_INTEGER): boolean {
    const root = readRoot(txn);
    if (root === null) {
      this.finished = true;
      return true;
    }
    const { from, to, buckets } = this.query;
    const span = to - from;
    let budget = maxElements;
    while (!this.finished && budget > 0) {
      const limit = Math.min(CHUNK, budget);
      const elements = txn.setRange(root.readings, { from: this.lower, to: this.upper, limit });
      for (const el of elements) {
        const { ts, ptr } = decodeElement(el);
        // Integer arithmetic on the offset keeps bucket edges exact for any span.
        const bucket = Math.min(buckets - 1, Math.floor(((ts - from) * buckets) / span));
        for (let f = 0; f < this.names.length; f++) {
          const raw = txn.memberValue(ptr, this.names[f] as Buffer);
          if (raw !== undefined) (this.acc[f] as Accumulator).add(bucket, raw);
        }
      }
      this.walked += elements.length;
      budget -= elements.length;
      const last = elements[elements.length - 1];
      if (elements.length < limit || last === undefined) this.finished = true;
      // element‖00 is the smallest element above `last`.
      else this.lower = Buffer.concat([last, Buffer.alloc(1)]);
    }
    return this.finished;
  }

  /** The aggregates of what was walked so far. */
  result(): Series {
    const { from, to, buckets } = this.query;
    const span = to - from;
    const t = Array.from({ length: buckets }, (_, i) => from + Math.floor((i * span) / buckets));
    const fields: Record<string, FieldSeries> = {};
    this.query.fields.forEach((name, i) => {
      fields[name] = (this.acc[i] as Accumulator).result();
    });
    return { from, to, buckets, bucketMs: span / buckets, t, fields, readings: this.walked };
  }
}

/**
 * Aggregates `fields` (exact flattened paths, e.g. `env.temp`) over the readings in
 * `[from, to)` in one transaction. Booleans count as 0/1; strings and other values are
 * counted in `nonNumeric`. Throws BAD_REQUEST for a bad range, bucket count or field list.
 */
export function seriesOf(txn: ReadTxn, query: SeriesQuery): Series {
  const scan = new SeriesScan(query);
  scan.step(txn);
  return scan.result();
}
