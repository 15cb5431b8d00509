/**
 * Structured logs (pino, JSON lines on stderr: stdout is reserved for the
 * "listening" lines scripts parse), and a rate limiter for rejection logs so a
 * flood of bad input is counted in metrics but cannot fill the disk.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** A pino logger writing JSON lines to stderr. */
export function createLogger(level: string, name = 'lmj-edge'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** Fields logged for one rejected message. */
export interface RejectionLog {
  deviceId?: string | undefined;
  topic?: string;
  reason: string;
  message: string;
  clientId?: string | undefined;
}

/**
 * Logs at most `perMinute` rejections per minute; when a window closes with some
 * suppressed, one line says how many. Windows are fixed minutes from the first log.
 */
export class RejectionLogger {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs one rejection at warn level unless this minute's budget is spent. Returns whether it was logged. */
  reject(entry: RejectionLog): boolean {
    const t = this.now();
    if (t - this.windowStart >= 60_000) {
      if (this.suppressed > 0) {
        this.log.warn({ suppressed: this.suppressed }, 'rejection logs suppressed in the last minute (see /metrics)');
      }
      this.windowStart = t;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used >= this.perMinute) {
      this.suppressed++;
      return false;
    }
    this.used++;
    this.log.warn(
      { device: entry.deviceId, topic: entry.topic, reason: entry.reason, client: entry.clientId },
      `message rejected: ${entry.message}`,
    );
    return true;
  }
}
