/**
 * The part of better-sqlite3's API the SQL reference tests and bench/query.ts use
 * (@types/better-sqlite3 is not installed; this declares only what we call).
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface Statement {
      run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      all(...params: unknown[]): Record<string, unknown>[];
      raw(toggle?: boolean): Statement;
      columns(): { name: string }[];
    }
    interface AggregateOptions<A> {
      start: A | (() => A);
      step: (acc: A, ...args: never[]) => A;
      result?: (acc: A) => unknown;
    }
    interface Database {
      exec(sql: string): Database;
      prepare(sql: string): Statement;
      pragma(source: string): unknown;
      transaction<F extends (...args: never[]) => unknown>(fn: F): F;
      aggregate<A>(name: string, options: AggregateOptions<A>): Database;
      close(): void;
    }
  }
  const Database: new (filename: string, options?: Record<string, unknown>) => Database.Database;
  export default Database;
}
