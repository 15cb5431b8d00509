/** The live one-line status shown on a TTY while a simulation runs. */
import type { SimProgress } from './sim.js';

/** Formats one progress snapshot as a short line. */
export function formatStatus(p: SimProgress): string {
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return (
    `${p.elapsedS.toFixed(1)}s  rate ${n(p.ackRate)}/s  published ${n(p.published)}  acked ${n(p.acked)}  ` +
    `in flight ${n(p.inflight)}  queued ${n(p.queued)}  dropped ${n(p.dropped)}  bad ${n(p.bad)}  ` +
    `errors ${n(p.errors)}  reconnects ${n(p.reconnects)}  connected ${n(p.connected)}`
  );
}

/** Rewrites the current terminal line (clears it first). */
export function writeStatus(stream: NodeJS.WriteStream, p: SimProgress): void {
  const line = formatStatus(p);
  const width = stream.columns ?? 0;
  stream.write(`\r\x1b[2K${width > 0 ? line.slice(0, width - 1) : line}`);
}
