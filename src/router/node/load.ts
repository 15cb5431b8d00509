/**
 * A data node's load figures for its live record: devices held, bytes applied, and
 * writes/reads per second measured between two refreshes (one per keepalive). The same
 * window gives each device its heat ((writes + reads)/s), which the node lists with its
 * devices of a range (`GET /cluster/v1/move/devices`) for the `heat` balancing policy.
 */
import { statfsSync } from 'node:fs';
import type { Capacity, LoadFigures } from '../../cluster/index.js';

/** Counts a node's work and turns it into {@link LoadFigures}. */
export class NodeLoad {
  private writes = 0;
  private reads = 0;
  private bytes = 0;
  private last = { at: Date.now(), writes: 0, reads: 0 };
  /** Readings written + queries answered per device in the current window. */
  private touched = new Map<string, number>();
  /** Per device: (writes + reads)/s over the last complete window; only devices that had any. */
  private heat = new Map<string, number>();

  constructor(private readonly devices: () => number) {}

  /** Records applied (readings written); `perDevice`: how many of them each device got. */
  noteWrites(records: number, bytes: number, perDevice: readonly { id: string; applied?: number }[] = []): void {
    this.writes += records;
    this.bytes += bytes;
    for (const d of perDevice) if (d.applied !== undefined && d.applied > 0) this.touched.set(d.id, (this.touched.get(d.id) ?? 0) + d.applied);
  }

  /** One query answered (for `deviceId`, when it names one). */
  noteRead(deviceId?: string): void {
    this.reads++;
    if (deviceId !== undefined) this.touched.set(deviceId, (this.touched.get(deviceId) ?? 0) + 1);
  }

  /** A device's heat, (writes + reads)/s over the last window (0 when it had none). */
  heatOf(deviceId: string): number {
    return this.heat.get(deviceId) ?? 0;
  }

  /** Current figures; rates over the time since the previous call (which also closes the devices' heat window). */
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
    // Only devices active in the window are kept: the maps stay as small as the hot set.
    this.heat = new Map([...this.touched].map(([id, n]) => [id, Math.round((n / secs) * 100) / 100]));
    this.touched = new Map();
    return out;
  }
}

/** Capacity of a node on `dataDir`: the file system's size in bytes, and a device budget. */
export function nodeCapacity(dataDir: string, devices = 1_000_000): Capacity {
  const fs = statfsSync(dataDir);
  return { devices, bytes: Number(fs.blocks) * Number(fs.bsize) };
}
