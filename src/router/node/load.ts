/**
 * A data node's load figures for its live record: devices held, bytes applied, and
 * writes/reads per second measured between two refreshes (one per keepalive).
 */
import { statfsSync } from 'node:fs';
import type { Capacity, LoadFigures } from '../../cluster/index.js';

/** Counts a node's work and turns it into {@link LoadFigures}. */
export class NodeLoad {
  private writes = 0;
  private reads = 0;
  private bytes = 0;
  private last = { at: Date.now(), writes: 0, reads: 0 };

  constructor(private readonly devices: () => number) {}

  /** Records applied (readings written). */
  noteWrites(records: number, bytes: number): void {
    this.writes += records;
    this.bytes += bytes;
  }

  /** One query answered. */
  noteRead(): void {
    this.reads++;
  }

  /** Current figures; rates over the time since the previous call. */
  figures(): LoadFigures {
    const now = Date.now();
    const secs = Math.max(0.001, (now - this.last.at) / 1000);
    const out: LoadFigures = {
      devices: this.devices(),
      bytes: this.bytes,
      writesPerSec: Math.round((this.writes - this.last.writes) / secs),
      readsPerSec: Math.round((this.reads - this.last.reads) / secs),
    };
    this.last = { at: now, writes: this.writes, reads: this.reads };
    return out;
  }
}

/** Capacity of a node on `dataDir`: the file system's size in bytes, and a device budget. */
export function nodeCapacity(dataDir: string, devices = 1_000_000): Capacity {
  const fs = statfsSync(dataDir);
  return { devices, bytes: Number(fs.blocks) * Number(fs.bsize) };
}
