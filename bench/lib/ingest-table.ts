/**
 * The ingest bench's samples and result table: what one run of a case measured
 * ({@link Sample}), the cases' shape, the /metrics readers the daemon cases use, and one
 * table row per case with its ratios (bench/ingest.ts runs the cases).
 */
import type { Breakdown } from './ack-breakdown.js';
import { rssParts } from './procs.js';
import { median } from './report.js';

export interface Sample {
  rate: number;
  loss: number;
  /** QoS 1 daemon cases: the loss split into acked readings missing and stored more than once. */
  lossKinds?: { missing: number; duplicate: number };
  /** CPU as % of one core over the measured window, per process. */
  cpu: Record<string, number>;
  rssMb?: number;
  /** Daemon cases: peak anonymous RSS, MB (what the 200 MB target is judged by; the rest is file-backed map pages). */
  anonMb?: number;
  p50?: number;
  p99?: number;
  /** Bytes on disk per stored reading. */
  diskB?: number;
  /** Bytes of database pages in use per stored reading (LMDB: mdb_stat used − free; SQLite: page_count − freelist_count). */
  pagesB?: number;
  /** Journal on: ack → readable, p50/p99 ms (histogram bucket upper bounds). */
  lag?: [number, number];
  /** Daemon cases: device instances opened and evicted by the pool while the fleet ran, and messages applied by then. */
  pool?: { opens: number; evictions: number; applied: number };
  /** Daemon cases: seconds from the fleet's end until every acked message was applied (the device list's barrier). */
  drainS?: number;
  /** Daemon cases: where the ack latency went while the fleet ran (bench/lib/ack-breakdown.ts). */
  breakdown?: Breakdown;
  /** Daemon cases: the daemon's own memory parts (/metrics) at its highest anonymous RSS, MB. */
  parts?: MemoryParts;
  /** Daemon cases: the daemon's CPU (all threads) from the fleet's start until everything was applied, µs per acked message. */
  cpuUsPerMsg?: number;
}

/** lmj_process_memory_bytes by part, MB (older builds: the V8 heap and external from the default series). */
export type MemoryParts = Record<string, number>;

/** `cli`: the CLI the daemon cases start (`--base`: another build's, for a before/after in one run). */
export type CaseFn = (opts: { devices: number; durationS: number; dir: string; cli: string }) => Promise<Sample>;

/** The memory parts of one /metrics text, MB. */
export function memoryParts(metrics: string): MemoryParts {
  const parts: MemoryParts = {};
  for (const m of metrics.matchAll(/^lmj_process_memory_bytes\{part="([a-z_0-9]+)"\} (\S+)$/gm)) parts[m[1]!] = Number(m[2]) / 1048576;
  if (parts['v8_heap_total'] === undefined) {
    parts['v8_heap_total'] = metricSample(metrics, 'lmj_nodejs_heap_size_total_bytes') / 1048576;
    parts['external'] = metricSample(metrics, 'lmj_nodejs_external_memory_bytes') / 1048576;
  }
  return parts;
}

/** Polls the daemon's /metrics every `everyMs` and keeps the memory parts of the sample with the highest anonymous RSS. */
export function sampleParts(httpUrl: string, pid: number | undefined, everyMs = 1000): { stop(): Promise<MemoryParts | undefined> } {
  let best: MemoryParts | undefined;
  let bestAnon = -1;
  let busy: Promise<void> = Promise.resolve();
  const take = (): void => {
    busy = (async () => {
      const anon = rssParts(pid).anon;
      const text = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(everyMs * 5) }).then((r) => r.text(), () => undefined);
      if (text === undefined || anon <= bestAnon) return;
      bestAnon = anon;
      best = { ...memoryParts(text), anon };
    })();
  };
  const timer = setInterval(() => void busy.then(take), everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await busy;
      return best;
    },
  };
}

/** The value of an unlabelled series in a /metrics text (0 when absent). */
export function metricSample(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
}

/** p50/p99 (ms) of lmj_ingest_apply_lag_seconds from a /metrics text: the bucket bounds they fall in. */
export function applyLag(metrics: string): [number, number] | undefined {
  const buckets = [...metrics.matchAll(/^lmj_ingest_apply_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map(
    (m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as const,
  );
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const q = (f: number): number => (buckets.find(([, n]) => n >= f * total)?.[0] ?? Infinity) * 1000;
  return [q(0.5), q(0.99)];
}

export interface CaseDef {
  name: string;
  fn: CaseFn;
  baseline?: string;
  target?: string;
  check?: (m: number, base: number | undefined, samples: Sample[]) => boolean;
  /** Also report the ratio against the SQLite baseline. */
  vsSqlite?: boolean;
  /** Simulated devices of this case (default: `--devices`). */
  devices?: number;
  /** The CLI its daemon runs (default: this build's; `--base`: the twin rows run the base build's). */
  cli?: string;
}

export const SQLITE = 'sqlite q1 (aedes + 1 SQLite file)';
export const HEADER = ['case', 'msgs/s', 'min..max', 'ratio', 'vs sqlite', 'loss', 'p50/p99 ms', 'read lag p50/p99 ms', 'B/reading', 'B/reading in pages', 'CPU % (median)', 'peak RSS', 'target', 'pool opens/evictions (opens per applied msg)', 'drain s', 'daemon CPU µs/msg', 'anon at peak MB: V8 heap, external, malloc used+free, mmapped'];
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export const medianOf = (xs: Sample[], f: (s: Sample) => number | undefined): number => median(xs.map((s) => f(s) ?? 0));

/** A lag bucket bound in ms: `<=N`, or `>LAST` for the +Inf bucket. */
export const lagCell = (ms: number): string => (Number.isFinite(ms) ? `<=${ms}` : '>10000');

/** One row of the result table (columns: {@link HEADER}). */
export function tableRow(c: CaseDef, results: Map<string, Sample[]>): string[] {
  const s = results.get(c.name)!;
  const m = medianOf(s, (x) => x.rate);
  const base = c.baseline === undefined ? undefined : medianOf(results.get(c.baseline)!, (x) => x.rate);
  const sqlite = c.vsSqlite === true && results.has(SQLITE) ? medianOf(results.get(SQLITE)!, (x) => x.rate) : undefined;
  const procs = Object.keys(s[0]!.cpu);
  const peak = Math.max(...s.map((x) => x.rssMb ?? 0));
  const anon = Math.max(...s.map((x) => x.anonMb ?? 0));
  const rss = !s.some((x) => x.rssMb !== undefined)
    ? ''
    : s.some((x) => x.anonMb !== undefined)
      ? `${fmt(peak)} MB, anon ${fmt(anon)} (${anon <= 200 ? 'met' : 'MISSED'} <=200)`
      : `${fmt(peak)} MB`;
  const lags = s.filter((x) => x.lag !== undefined);
  return [
    c.name,
    fmt(m),
    `${fmt(Math.min(...s.map((x) => x.rate)))}..${fmt(Math.max(...s.map((x) => x.rate)))}`,
    base === undefined ? '(baseline)' : `${(m / base).toFixed(2)}x`,
    sqlite === undefined ? '' : `${(m / sqlite).toFixed(2)}x`,
    s.map((x) => (x.loss === 0 || x.lossKinds === undefined ? String(x.loss) : `${x.loss} (${x.lossKinds.missing} missing, ${x.lossKinds.duplicate} dup)`)).join('/'),
    s[0]!.p99 === undefined ? '' : `${medianOf(s, (x) => x.p50).toFixed(1)}/${medianOf(s, (x) => x.p99).toFixed(1)}`,
    lags.length === 0 ? '' : `${lagCell(medianOf(lags, (x) => x.lag?.[0]))}/${lagCell(medianOf(lags, (x) => x.lag?.[1]))}`,
    s[0]!.diskB === undefined ? '' : fmt(medianOf(s, (x) => x.diskB)),
    s[0]!.pagesB === undefined ? '' : fmt(medianOf(s, (x) => x.pagesB)),
    procs.map((p) => `${p} ${Math.round(medianOf(s, (x) => x.cpu[p]))}`).join(', '),
    rss,
    c.check === undefined ? '' : `${c.check(m, base, s) ? 'met' : 'MISSED'} ${c.target}`,
    s[0]!.pool === undefined
      ? ''
      : `${fmt(medianOf(s, (x) => x.pool?.opens))}/${fmt(medianOf(s, (x) => x.pool?.evictions))} (${medianOf(s, (x) => (x.pool === undefined ? undefined : x.pool.opens / Math.max(1, x.pool.applied))).toFixed(2)})`,
    s[0]!.drainS === undefined ? '' : medianOf(s, (x) => x.drainS).toFixed(1),
    s[0]!.cpuUsPerMsg === undefined ? '' : medianOf(s, (x) => x.cpuUsPerMsg).toFixed(0),
    partsCell(s),
  ];
}

/** The memory parts of the run with the highest anonymous RSS (the run the peak-RSS cell reports). */
export function partsCell(s: Sample[]): string {
  const top = s.filter((x) => x.parts !== undefined).sort((a, b) => (b.parts!['anon'] ?? 0) - (a.parts!['anon'] ?? 0))[0]?.parts;
  if (top === undefined) return '';
  const mb = (k: string): string => (top[k] === undefined ? '?' : fmt(top[k]));
  const malloc = top['malloc_in_use'] === undefined ? '?' : `${mb('malloc_in_use')}+${mb('malloc_free')}, ${mb('malloc_mmapped')}`;
  return `${mb('anon')}: ${mb('v8_heap_total')}, ${mb('external')}, ${malloc}`;
}
