/**
 * Dead letters: every rejected message, kept durably with its raw bytes, in the
 * gateway-level LMDB environment `DIR/gateway/`, bounded by count and bytes (oldest
 * dropped first, counted).
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { committed } from '../core/index.js';
import { LmjError, type ErrorCode } from '../errors.js';

/** One dead letter as listed. */
export interface DeadLetter {
  /** Sequence number, increasing; also the paging cursor. */
  seq: number;
  /** When it was rejected, Unix ms. */
  at: number;
  topic: string;
  code: ErrorCode;
  message: string;
  deviceId?: string;
  clientId?: string;
  qos: 0 | 1;
  /** The raw payload bytes. */
  payload: Buffer;
}

/** Paging for the dead-letter list (newest first). */
export interface DeadLetterQuery {
  /** 1..1000, default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

/** A page of dead letters, newest first; `next` is null on the last page. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  next: string | null;
  /** Total kept now, and how many were dropped so far to stay in budget. */
  total: number;
  dropped: number;
}

/** Budget of the dead-letter store. */
export interface DeadLetterLimits {
  /** Most dead letters kept (default 10,000). */
  maxCount?: number;
  /** Most payload bytes kept (default 64 MiB). */
  maxBytes?: number;
}

/** A dead letter before it has a sequence number. */
export type NewDeadLetter = Omit<DeadLetter, 'seq'>;

interface Totals {
  nextSeq: number;
  count: number;
  bytes: number;
  dropped: number;
}

const TOTALS_KEY = 'totals';
/** Per-entry overhead counted against the byte budget besides the payload. */
const ENTRY_OVERHEAD = 256;

/**
 * The durable dead-letter store (`DIR/gateway/deadletters`, lmdb-js with fsync on
 * every commit): `add` resolves only once the letters are on disk, so a QoS 1
 * rejection can be acked after it.
 */
export class DeadLetterStore {
  private readonly env: RootDatabase;
  private readonly letters: Database<Omit<DeadLetter, 'seq'>, number>;
  private readonly meta: Database<Totals, string>;
  private totals: Totals;
  private readonly maxCount: number;
  private readonly maxBytes: number;

  constructor(dir: string, limits: DeadLetterLimits = {}) {
    mkdirSync(dir, { recursive: true });
    // overlappingSync off: a commit's promise resolves only after fsync (acked ⇒ durable).
    this.env = open({ path: dir, maxDbs: 4, overlappingSync: false, noSync: false });
    this.letters = this.env.openDB({ name: 'letters' });
    this.meta = this.env.openDB({ name: 'meta' });
    this.totals = this.meta.get(TOTALS_KEY) ?? { nextSeq: 1, count: 0, bytes: 0, dropped: 0 };
    this.maxCount = limits.maxCount ?? 10_000;
    this.maxBytes = limits.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Stores the letters in one durable commit; resolves to how many old ones were dropped. */
  async add(batch: readonly NewDeadLetter[]): Promise<number> {
    if (batch.length === 0) return 0;
    return committed(this.env.transaction(() => {
      const t = { ...this.totals };
      for (const letter of batch) {
        this.letters.put(t.nextSeq++, letter);
        t.count++;
        t.bytes += letter.payload.length + ENTRY_OVERHEAD;
      }
      let dropped = 0;
      if (t.count > this.maxCount || t.bytes > this.maxBytes) {
        for (const { key, value } of this.letters.getRange({})) {
          if (t.count <= this.maxCount && t.bytes <= this.maxBytes) break;
          this.letters.remove(key);
          t.count--;
          t.bytes -= value.payload.length + ENTRY_OVERHEAD;
          dropped++;
        }
      }
      t.dropped += dropped;
      this.meta.put(TOTALS_KEY, t);
      this.totals = t;
      return dropped;
    }));
  }

  /** Newest first; `cursor` is the `next` of the previous page. Throws BAD_REQUEST. */
  list(query: DeadLetterQuery = {}): DeadLetterPage {
    const limit = query.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new LmjError('BAD_REQUEST', 'limit must be an integer in 1..1000', { details: { limit } });
    }
    let start: number | undefined;
    if (query.cursor !== undefined) {
      start = /^[0-9]{1,15}$/.test(query.cursor) ? Number(query.cursor) : NaN;
      if (!Number.isSafeInteger(start)) throw new LmjError('BAD_REQUEST', 'bad dead-letter cursor', { details: { cursor: query.cursor.slice(0, 40) } });
    }
    const range = start === undefined ? { reverse: true, limit: limit + 1 } : { reverse: true, start: start - 1, limit: limit + 1 };
    const rows = [...this.letters.getRange(range)].map(({ key, value }) => ({ ...value, payload: Buffer.from(value.payload), seq: key }));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      deadLetters: page,
      next: rows.length > limit && last !== undefined ? String(last.seq) : null,
      total: this.totals.count,
      dropped: this.totals.dropped,
    };
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
