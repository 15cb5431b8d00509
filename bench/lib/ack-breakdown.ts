/**
 * Where the ack latency went in one daemon run of bench/ingest.ts: quantiles of the
 * daemon's own histograms between two /metrics scrapes (before and after the fleet), as
 * bucket upper bounds in ms. Series: `lmj_event_loop_delay_seconds` (how late a 5 ms timer
 * fired), `lmj_ingest_ack_stage_seconds{stage}`, `lmj_journal_group_seconds{phase}`,
 * `lmj_journal_group_records`. A daemon without a series (an older build) leaves it out.
 */
import { median } from './report.js';

/** Quantiles (p50, p99, max bucket) of the series seen, in ms (records: a count). */
export type Breakdown = Record<string, [number, number, number]>;

/**
 * prom-client's own `nodejs_eventloop_lag_max_seconds` as seen by each 100 ms poll of the
 * bench (it is reset at every scrape): p50/p99/max of those per-window maxima, ms. Older
 * builds have it too, so it compares a baseline build without the histograms above.
 */
export const POLL_LAG = 'loop lag max per 100 ms';

/** The series and label selections reported, in column order. */
const SERIES: Array<{ key: string; name: string; label?: string; scale: number }> = [
  { key: 'loop delay', name: 'lmj_event_loop_delay_seconds', scale: 1000 },
  { key: 'admission', name: 'lmj_ingest_ack_stage_seconds', label: 'stage="admission"', scale: 1000 },
  { key: 'queue', name: 'lmj_ingest_ack_stage_seconds', label: 'stage="queue"', scale: 1000 },
  { key: 'prepare', name: 'lmj_ingest_ack_stage_seconds', label: 'stage="prepare"', scale: 1000 },
  { key: 'journal', name: 'lmj_ingest_ack_stage_seconds', label: 'stage="journal"', scale: 1000 },
  { key: 'hand-off', name: 'lmj_ingest_ack_stage_seconds', label: 'stage="handoff"', scale: 1000 },
  { key: 'writer wait', name: 'lmj_journal_group_seconds', label: 'phase="wait"', scale: 1000 },
  { key: 'write', name: 'lmj_journal_group_seconds', label: 'phase="write"', scale: 1000 },
  { key: 'fdatasync', name: 'lmj_journal_group_seconds', label: 'phase="fdatasync"', scale: 1000 },
  { key: 'records/group', name: 'lmj_journal_group_records', scale: 1 },
];

/** Cumulative bucket counts `[le, count]` of one histogram series (with `label` inside its braces). */
function buckets(text: string, name: string, label: string | undefined): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = m[1]!;
    if (label !== undefined && !labels.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1];
    if (le === undefined) continue;
    out.push([le === '+Inf' ? Infinity : Number(le), Number(m[2])]);
  }
  return out;
}

/** The breakdown between two scrapes of the same daemon. */
export function breakdownOf(before: string, after: string): Breakdown {
  const out: Breakdown = {};
  for (const s of SERIES) {
    const a = buckets(after, s.name, s.label);
    if (a.length === 0) continue;
    const b = new Map(buckets(before, s.name, s.label));
    const counts = a.map(([le, n]) => [le, n - (b.get(le) ?? 0)] as const);
    const total = counts.at(-1)![1];
    if (total === 0) continue;
    const q = (f: number): number => (counts.find(([, n]) => n >= f * total)?.[0] ?? Infinity) * s.scale;
    const maxBucket = counts.find(([, n]) => n >= total)![0] * s.scale;
    out[s.key] = [q(0.5), q(0.99), maxBucket];
  }
  return out;
}

const cell = (v: number): string => (Number.isFinite(v) ? String(+v.toPrecision(3)) : '>max');

/** Markdown rows (header first) of the breakdowns of each case: medians over its runs of p50/p99 (max). */
export function breakdownTable(cases: Array<{ name: string; runs: Breakdown[] }>): string[] {
  const keys = [POLL_LAG, ...SERIES.map((s) => s.key)].filter((k) => cases.some((c) => c.runs.some((r) => r[k] !== undefined)));
  const rows = [['case', ...keys.map((k) => `${k} p50/p99 (max)`)]];
  for (const c of cases) {
    if (c.runs.length === 0) continue;
    rows.push([
      c.name,
      ...keys.map((k) => {
        const have = c.runs.map((r) => r[k]).filter((x): x is [number, number, number] => x !== undefined);
        if (have.length === 0) return '';
        const med = (i: number): number => median(have.map((x) => x[i]!));
        return `${cell(med(0))}/${cell(med(1))} (${cell(med(2))})`;
      }),
    ]);
  }
  return rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => '---').join('|')}|` : ''}`);
}
