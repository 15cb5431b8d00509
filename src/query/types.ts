/**
 * Public types of the SQL layer over LMJCore (docs/query.md): what a query reads
 * from (a {@link QuerySource}), its bounds ({@link QueryLimits}) and its answer.
 */
import type { LmjStore, ReadTxn } from '../core/types.js';

/** A SQL value: CBOR integers/floats → number, text → string, booleans, NULL. */
export type SqlValue = number | string | boolean | null;

/** Column type in an answer. `json` is a stored value that is not a scalar (shown as JSON text). */
export type SqlType = 'int' | 'real' | 'text' | 'bool' | 'json' | 'null';

/** One answer column. */
export interface Column {
  name: string;
  type: SqlType;
}

/** The answer of a query (the JSON shape of `POST /query` and `--format json`). */
export interface QueryResult {
  columns: Column[];
  rows: SqlValue[][];
  /** What the query read, for logs, EXPLAIN and the bench. */
  stats: QueryStats;
}

/** Work done by one query. */
export interface QueryStats {
  /** Device instances (or table instances) opened. */
  instances: number;
  /** Rows (readings, devices, table rows) visited. */
  rowsScanned: number;
  /** Member values read and decoded. */
  valuesRead: number;
  /** Rows written by INSERT/UPDATE/DELETE. */
  rowsWritten: number;
}

/**
 * Where a query reads from: small on purpose, so the gateway's and the data node's
 * read facade can implement it.
 */
export interface QuerySource {
  /** Ids of the device instances this source holds. */
  listDevices(): Promise<readonly string[]>;
  /**
   * Optional shortcut for a query naming its devices: the named ids, sorted and without
   * repeats, when the source knows without listing that each has an instance (e.g. it
   * holds them open); undefined to fall back to {@link listDevices}.
   */
  knownDevices?(ids: readonly string[]): string[] | undefined;
  /**
   * Runs `fn` in one read transaction of the device's instance (one consistent
   * snapshot); resolves undefined when the device has no instance.
   */
  readDevice<T>(deviceId: string, fn: (txn: ReadTxn) => T): Promise<T | undefined>;
  /** The instance holding user pseudo-tables; absent where tables are not offered. */
  tables?(): Promise<Pick<LmjStore, 'read' | 'write'>>;
}

/** Bounds of one query; exceeding one fails the query with QUERY_LIMIT. */
export interface QueryLimits {
  /** Rows in the answer (default 10,000). */
  maxRows: number;
  /** Rows visited by scans (default 50,000,000). */
  maxScanned: number;
  /** Wall-clock budget in ms (default 30,000). */
  timeoutMs: number;
  /** Groups held while aggregating, and rows held for ORDER BY (default 100,000). */
  maxGroups: number;
}

/** Defaults of {@link QueryLimits}. */
export const DEFAULT_LIMITS: QueryLimits = Object.freeze({
  maxRows: 10_000,
  maxScanned: 50_000_000,
  timeoutMs: 30_000,
  maxGroups: 100_000,
});

/**
 * How reading members are fetched: in column batches of 1,024 readings, one addon call
 * per batch with the native codec (`batch`, also what `auto` does), or per reading from
 * TypeScript with one get per member (`get`) or one cursor walk over `main` (`walk`);
 * the last two are kept for comparison (docs/query.md, Benchmark).
 */
export type ScanMode = 'batch' | 'walk' | 'get' | 'auto';

/** Options of one query run. */
export interface QueryOptions {
  /** Values for `$1`, `$2`, … */
  params?: readonly SqlValue[];
  limits?: Partial<QueryLimits>;
  /** Reading scan strategy (default `auto`). */
  scan?: ScanMode;
  /** Current time for `now()` (default Date.now()). */
  now?: number;
}
