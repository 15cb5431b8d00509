/**
 * The dashboard's overview: ingest and ack rates (from counter samples), rejects by
 * reason, dead letters, sync backlog, open instances and disk use of the data dir.
 */
import { statfs } from 'node:fs/promises';
import type { DashboardDeps, DeadLetterSummary, IngestCounters, SyncSummary } from './types.js';

/** Disk of the data directory (statfs): whole filesystem, and what is free to us. */
export interface DiskUse {
  path: string;
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
}

/** Per-second rates over the last sampling interval. */
export interface Rates {
  received: number;
  acked: number;
  stored: number;
  rejected: number;
  /** Length of the interval the rates are over, ms (0 before the second sample). */
  intervalMs: number;
}

/** `GET /dashboard/overview` and the SSE `overview` event. */
export interface Overview {
  at: number;
  counters: IngestCounters;
  rates: Rates;
  deadLetters: { recent: DeadLetterSummary[]; total: number; dropped: number };
  sync: SyncSummary | null;
  disk: DiskUse | null;
}

/** Dead letters shown on the overview. */
const RECENT_DEAD_LETTERS = 20;

async function diskUse(path: string): Promise<DiskUse | null> {
  try {
    const s = await statfs(path);
    const total = s.blocks * s.bsize;
    return { path, totalBytes: total, freeBytes: s.bavail * s.bsize, usedBytes: total - s.bfree * s.bsize };
  } catch {
    // A data dir that vanished is reported as unknown, not as an error of the page.
    return null;
  }
}

/** Keeps the previous counter sample so rates can be derived from two. */
export class OverviewSampler {
  private prev: { at: number; c: IngestCounters } | undefined;
  private rates: Rates = { received: 0, acked: 0, stored: 0, rejected: 0, intervalMs: 0 };

  constructor(private readonly deps: DashboardDeps) {}

  /** Takes a new counter sample and updates the rates. */
  async sample(): Promise<IngestCounters> {
    const c = await this.deps.counters();
    const at = Date.now();
    const p = this.prev;
    if (p !== undefined && at > p.at) {
      const dt = (at - p.at) / 1000;
      this.rates = {
        received: (c.received - p.c.received) / dt,
        acked: (c.acked - p.c.acked) / dt,
        stored: (c.stored - p.c.stored) / dt,
        rejected: (c.rejected - p.c.rejected) / dt,
        intervalMs: at - p.at,
      };
    }
    this.prev = { at, c };
    return c;
  }

  /** A full overview; `fresh` takes a new sample first. */
  async overview(fresh: boolean): Promise<Overview> {
    // Rates move only with samples; the counters shown are always current.
    const counters = fresh || this.prev === undefined ? await this.sample() : await this.deps.counters();
    const [deadLetters, disk] = await Promise.all([this.deps.deadLetters(RECENT_DEAD_LETTERS), diskUse(this.deps.dataDir)]);
    return { at: Date.now(), counters, rates: this.rates, deadLetters, sync: this.deps.sync(), disk };
  }
}
