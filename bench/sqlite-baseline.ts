/**
 * The "obvious alternative" to lmj-edge, for bench/ingest.ts: an embedded aedes broker
 * whose `authorizePublish` (after which aedes writes the PUBACK) waits for a group commit
 * (at most 500 messages or 2 ms) of JSON rows into ONE SQLite file (better-sqlite3, WAL,
 * `synchronous=FULL`, index on (device, ts)). Acks only what is committed, like lmj-edge.
 *
 * Usage: node dist/bench/sqlite-baseline.js DIR   → prints `sqlite listening on PORT`.
 */
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The few better-sqlite3 calls used here (the package ships no types). */
interface Db {
  pragma(s: string): unknown;
  exec(sql: string): void;
  prepare(sql: string): { run(...args: unknown[]): unknown };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}
type Row = [device: string, ts: number, body: string];

const MAX_GROUP = 500;
const MAX_WAIT_MS = 2;

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: sqlite-baseline DIR');
const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => Db;
const db = new Database(join(dir, 'readings.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL)');
db.exec('CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device, ts)');
const insert = db.prepare('INSERT INTO readings (device, ts, body) VALUES (?, ?, ?)');
const commitRows = db.transaction((rows: Row[]) => {
  for (const r of rows) insert.run(...r);
});

let rows: Row[] = [];
let acks: ((err: Error | null) => void)[] = [];
let timer: NodeJS.Timeout | undefined;

function commit(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  const [batch, done] = [rows, acks];
  [rows, acks] = [[], []];
  let err: Error | null = null;
  try {
    commitRows(batch);
  } catch (e) {
    err = e as Error;
  }
  for (const cb of done) cb(err);
}

const { Aedes } = await import('aedes');
const broker = await Aedes.createBroker();
broker.authorizePublish = (_client, packet, cb) => {
  const device = packet.topic.split('/')[1] ?? '';
  let body: string;
  try {
    body = JSON.stringify(JSON.parse(packet.payload.toString()));
  } catch {
    // Bad input is acked and dropped, as lmj-edge acks (and dead-letters) it.
    cb(null);
    return;
  }
  rows.push([device, Date.now(), body]);
  acks.push(cb);
  if (rows.length >= MAX_GROUP) commit();
  else timer ??= setTimeout(commit, MAX_WAIT_MS);
};
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => console.log(`sqlite listening on ${(server.address() as AddressInfo).port}`));
