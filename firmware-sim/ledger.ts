/**
 * The ledger: one JSON line per QoS 1 reading the broker acknowledged (PUBACK), written
 * by `sim --ledger FILE` and read by `verify`.
 *
 * Lines are buffered and written every `flushMs` and at the end of the run. A sim that is
 * killed loses its unflushed lines, and the last line may be torn: `verify` then checks
 * fewer readings, never more, because it only claims what the ledger holds.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { LmjError } from '../src/errors.js';

/** One acknowledged reading. */
export interface LedgerEntry {
  device: string;
  seq: number;
  boot: number;
  /** Hex of the 16-byte message identity (SHA-256 prefix of the payload). */
  id: string;
  /** Wall-clock ms when the PUBACK arrived. */
  ackedAt: number;
}

/** Appends ledger lines, buffered. */
export class LedgerWriter {
  private readonly fd: number;
  private buf: string[] = [];
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Lines written to the file so far. */
  written = 0;

  /** Opens (creates or appends to) `file`; flushes at least every `flushMs`. */
  constructor(
    readonly file: string,
    flushMs = 1000,
    private readonly maxBufferBytes = 1 << 20,
  ) {
    try {
      this.fd = openSync(file, 'a');
    } catch (cause) {
      throw new LmjError('BAD_CONFIG', `cannot open ledger ${file}`, { cause, details: { key: 'ledger', file } });
    }
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  /** Queues one entry. */
  append(e: LedgerEntry): void {
    if (this.closed) return;
    const line = `{"device":${JSON.stringify(e.device)},"seq":${e.seq},"boot":${e.boot},"id":"${e.id}","ackedAt":${e.ackedAt}}\n`;
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= this.maxBufferBytes) this.flush();
  }

  /** Writes everything buffered. */
  flush(): void {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('');
    const n = this.buf.length;
    this.buf = [];
    this.bytes = 0;
    const data = Buffer.from(chunk, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off);
    this.written += n;
  }

  /** Flushes and closes the file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.timer);
    closeSync(this.fd);
  }
}

/** What a ledger file holds. */
export interface LedgerContents {
  entries: LedgerEntry[];
  /** Lines that were not valid entries (e.g. a torn last line after a kill). */
  badLines: number;
}

function isEntry(v: unknown): v is LedgerEntry {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o['device'] === 'string' &&
    Number.isSafeInteger(o['seq']) &&
    Number.isSafeInteger(o['boot']) &&
    typeof o['id'] === 'string' &&
    /^[0-9a-f]{32}$/.test(o['id']) &&
    typeof o['ackedAt'] === 'number'
  );
}

/** Reads a ledger file; malformed lines are counted, not fatal. */
export function readLedger(file: string): LedgerContents {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LmjError('BAD_CONFIG', `cannot read ledger ${file}`, { cause, details: { key: 'ledger', file } });
  }
  const entries: LedgerEntry[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isEntry(v)) entries.push(v);
      else badLines++;
    } catch {
      badLines++;
    }
  }
  return { entries, badLines };
}
