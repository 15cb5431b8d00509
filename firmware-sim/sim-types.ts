/** Types of a simulation's progress events and final summary. */
import type { BadKind } from './bad-payloads.js';
import type { LatencySummary } from './latency.js';

/** Live counters, emitted as `progress` every `progressMs`. */
export interface SimProgress {
  elapsedS: number;
  /** Good readings generated so far. */
  published: number;
  /** Good readings acknowledged (QoS 1 PUBACK; QoS 0: written). */
  acked: number;
  /** Acknowledgements per second since the previous progress event. */
  ackRate: number;
  inflight: number;
  queued: number;
  dropped: number;
  errors: number;
  reconnects: number;
  connected: number;
  bad: number;
}

/** The final report of a run (printed as JSON by the CLI). */
export interface SimSummary {
  devices: number;
  connections: number;
  connectionMode: 'per-device' | 'pool';
  qos: 0 | 1;
  format: 'json' | 'cbor';
  profile: string;
  seed: number;
  bootBase: number;
  elapsedS: number;
  /** Seconds spent generating (the rest of `elapsedS` was draining). */
  generateS: number;
  rate: { target: number | 'unlimited'; published: number; acked: number };
  /** Good readings generated (each counted once, however often it was re-sent). */
  published: number;
  acked: number;
  /** Re-sends of readings whose connection dropped before their ack. */
  resent: number;
  /** Dropped from a full offline buffer (oldest first). */
  dropped: number;
  /** Generated but never acknowledged nor dropped (in flight or queued at the end). */
  unacked: number;
  /** Of `unacked`: generated but still buffered at the end of the run, never sent. */
  unsent: number;
  reboots: number;
  reconnects: number;
  errors: number;
  bad: { published: number; acked: number; lost: number; byKind: Record<BadKind, number> };
  ledger: { file: string; lines: number } | null;
  /** Publish→PUBACK latency of QoS 1 readings (ms); empty for QoS 0. */
  latencyMs: LatencySummary;
  /** Seconds between the first and the last good ack: `(acked − 1) / ackSpanS` is the steady ack rate. */
  ackSpanS: number;
  /** CPU seconds (user + system) this process used during the run. */
  cpuS: number;
}

/** Events of a {@link Simulation}. */
export interface SimEvents {
  progress: [SimProgress];
  connect: [{ clientId: string; reconnect: boolean }];
  disconnect: [{ clientId: string; retryInMs: number }];
  reboot: [{ device: string; boot: number }];
  error: [Error];
}
