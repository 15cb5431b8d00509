/**
 * Shared benchmark helpers: repeat a measurement, take the median, print a table
 * with ratios against a baseline measured in the same run.
 */

/** Median of a non-empty list of numbers. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A value at quantile q (0..1) of a list, nearest-rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

/** Runs `fn` `runs` times (after `warmup` unmeasured runs) and returns every result. */
export async function repeat(runs: number, fn: () => Promise<number> | number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn());
  return out;
}

/** One row of a ratio table: a name and a rate (higher is better) measured several times. */
export interface RateRow {
  name: string;
  /** Rates from each run (operations per second). */
  rates: number[];
  /** Name of the row this one is compared with; omitted for the baseline itself. */
  baseline?: string;
  /** Target ratio against the baseline, printed as met/missed. */
  targetRatio?: number;
  /** Target absolute rate, printed as met/missed (a target, not a claim). */
  targetRate?: number;
  unit?: string;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/** Prints a table: median rate, min..max spread, ratio to its baseline and targets. */
export function printRateTable(title: string, rows: readonly RateRow[]): void {
  const medians = new Map(rows.map((r) => [r.name, median(r.rates)]));
  const lines: string[][] = [['case', 'median', 'min..max', 'runs', 'ratio', 'target']];
  for (const r of rows) {
    const m = medians.get(r.name)!;
    const base = r.baseline === undefined ? undefined : medians.get(r.baseline);
    const ratio = base === undefined ? '(baseline)' : `${(m / base).toFixed(2)}x ${r.baseline}`;
    const targets: string[] = [];
    if (r.targetRatio !== undefined && base !== undefined) {
      targets.push(`${m / base >= r.targetRatio ? 'met' : 'MISSED'} >=${r.targetRatio}x`);
    }
    if (r.targetRate !== undefined) targets.push(`${m >= r.targetRate ? 'met' : 'MISSED'} >=${fmt(r.targetRate)}`);
    lines.push([
      r.name,
      `${fmt(m)} ${r.unit ?? 'ops/s'}`,
      `${fmt(Math.min(...r.rates))}..${fmt(Math.max(...r.rates))}`,
      String(r.rates.length),
      ratio,
      targets.join(', '),
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log(`\n## ${title}\n`);
  for (const [i, l] of lines.entries()) {
    console.log(`| ${l.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
}
