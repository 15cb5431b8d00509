/**
 * The outbox's durable state (`DIR/gateway/sync`, lmdb-js): per device the sync cursor
 * (last `readings` element the router confirmed, or dropped past) and how many readings
 * lie at or before it; the set of devices that may have unsynced readings ("dirty");
 * and a clean-shutdown flag. Gateway-level bookkeeping, not an LMJCore instance.
 *
 * Cursor writes are awaited before the uplink considers a batch done; dirty marks are
 * written in the background (ingest never waits for them) — the window they leave
 * after a crash is closed by the sweep that runs when the clean flag is missing.
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { committed } from '../core/index.js';

/** One device's sync position. */
export interface Cursor {
  /** Last confirmed (or dropped-past) element; undefined = nothing synced yet. */
  element: Buffer | undefined;
  /** Readings at or before `element` (sent or dropped). */
  passed: number;
}

interface StoredCursor {
  e: Buffer | null;
  p: number;
}

/** The sync state environment. */
export class SyncStateStore {
  private readonly env: RootDatabase;
  private readonly cursors: Database<StoredCursor, string>;
  private readonly dirty: Database<number, string>;
  private readonly meta: Database<unknown, string>;

  /** Opens (creating) the store; `durable` = fsync on commit (the gateway's `safe` mode). */
  constructor(dir: string, durable: boolean) {
    mkdirSync(dir, { recursive: true });
    this.env = open({ path: dir, maxDbs: 4, noSync: !durable, overlappingSync: false });
    this.cursors = this.env.openDB<StoredCursor, string>({ name: 'cursors' });
    this.dirty = this.env.openDB<number, string>({ name: 'dirty' });
    this.meta = this.env.openDB<unknown, string>({ name: 'meta' });
  }

  /** Every stored cursor. */
  loadCursors(): Map<string, Cursor> {
    const out = new Map<string, Cursor>();
    for (const { key, value } of this.cursors.getRange()) {
      out.set(key, { element: value.e === null ? undefined : Buffer.from(value.e), passed: value.p });
    }
    return out;
  }

  /** Every device marked dirty. */
  loadDirty(): string[] {
    return [...(this.dirty.getKeys() as Iterable<string>)];
  }

  /** Writes cursors (and clears dirty marks of devices fully synced) in one commit; resolves when committed. */
  async saveCursors(entries: readonly { id: string; cursor: Cursor }[], clean: readonly string[] = []): Promise<void> {
    await committed(this.env.transaction(() => {
      for (const { id, cursor } of entries) this.cursors.put(id, { e: cursor.element ?? null, p: cursor.passed });
      for (const id of clean) this.dirty.remove(id);
    }));
  }

  /** Marks devices dirty in the background. */
  markDirty(ids: readonly string[]): Promise<void> {
    return committed(this.env.transaction(() => {
      for (const id of ids) this.dirty.put(id, 1);
    })).then(() => undefined);
  }

  /** Removes dirty marks in the background. */
  clearDirty(ids: readonly string[]): Promise<void> {
    return committed(this.env.transaction(() => {
      for (const id of ids) this.dirty.remove(id);
    })).then(() => undefined);
  }

  /** Reads and removes the clean-shutdown flag: true when the last run ended cleanly. */
  takeCleanFlag(): boolean {
    const clean = this.meta.get('clean') === true;
    // Synchronous: a crash from here on must count as unclean.
    this.meta.removeSync('clean');
    return clean;
  }

  /** A stored number (e.g. the average record size), or undefined. */
  getNumber(key: string): number | undefined {
    const v = this.meta.get(key);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }

  /** Closes without touching the clean flag (a reader such as the CLI, not the outbox's owner). */
  async closeWithoutFlag(): Promise<void> {
    await this.env.close();
  }

  /** Sets the clean flag and stored numbers, waits for pending writes, closes. */
  async close(numbers: Record<string, number>): Promise<void> {
    await committed(this.env.transaction(() => {
      for (const [k, v] of Object.entries(numbers)) this.meta.put(k, v);
      this.meta.put('clean', true);
    }));
    await this.env.close();
  }
}
