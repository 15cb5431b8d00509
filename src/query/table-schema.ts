/**
 * The stored form of a user pseudo-table (docs/query.md "Pseudo-tables"), in the
 * tables instance:
 *
 * - root object (fixed pointer 01 00…00): member `table:<name>` → schema object;
 * - schema object: `name` (text), `columns` (text: JSON `[{name,type,notNull}]`),
 *   `primary_key` (text, absent without one), `rows` → rows set, `next_index` (uint);
 * - rows set: element = row key ‖ row object pointer (17 bytes). With a primary key,
 *   the key is the primary key's order-preserving encoding, so the set is sorted by it
 *   and `pk = x` is one cursor seek; without one it is the 8-byte big-endian insertion
 *   index (`next_index`), so the set is insertion order;
 * - row object: one member per non-NULL column, the value canonical CBOR.
 */
import { ROOT_PTR } from '../core/telemetry/model.js';
import { cborText, cborUint, readCborUint } from '../core/telemetry/values.js';
import type { ReadTxn, WriteTxn } from '../core/types.js';
import { LmjError } from '../errors.js';
import type { ColumnDef, ColumnType } from './ast.js';
import type { SqlValue } from './types.js';
import { decodeSql, encodeSql } from './values.js';

/** A table as read back from its schema object. */
export interface TableSchema {
  name: string;
  ptr: Buffer;
  columns: ColumnDef[];
  primaryKey: string | null;
  rows: Buffer;
}

/** Names the telemetry views own. */
export const VIEW_NAMES = new Set(['readings', 'latest', 'devices']);

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The root member naming a table. */
export function tableMember(name: string): Buffer {
  return Buffer.from(`table:${name}`);
}

/** Throws SQL_INVALID for a table name we do not store. */
export function checkTableName(name: string): void {
  if (!NAME_RE.test(name) || VIEW_NAMES.has(name)) {
    throw new LmjError('SQL_INVALID', `invalid table name ${JSON.stringify(name)} (letters, digits, _; not readings/latest/devices)`);
  }
}

function text(txn: ReadTxn, ptr: Buffer, name: string): string | null {
  const v = txn.memberValue(ptr, name);
  if (v === undefined) return null;
  const s = decodeSql(v);
  return typeof s === 'string' ? s : null;
}

/** The schema of `name`, or null. */
export function readSchema(txn: ReadTxn, name: string): TableSchema | null {
  if (!txn.exists(ROOT_PTR)) return null;
  const ptr = txn.memberValue(ROOT_PTR, tableMember(name));
  if (ptr === undefined) return null;
  const p = Buffer.from(ptr);
  const rows = txn.memberValue(p, 'rows');
  const columns = text(txn, p, 'columns');
  if (rows === undefined || columns === null) throw new LmjError('STORE_CORRUPT', `schema object of table ${name} is incomplete`);
  return { name, ptr: p, columns: JSON.parse(columns) as ColumnDef[], primaryKey: text(txn, p, 'primary_key'), rows: Buffer.from(rows) };
}

/** Writes a new table's schema object and empty rows set. */
export function writeSchema(txn: WriteTxn, name: string, columns: ColumnDef[], primaryKey: string | null): void {
  txn.objRegister(ROOT_PTR);
  const schema = txn.objCreate();
  const rows = txn.setCreate();
  txn.memberPut(schema, 'name', cborText(name));
  txn.memberPut(schema, 'columns', cborText(JSON.stringify(columns)));
  if (primaryKey !== null) txn.memberPut(schema, 'primary_key', cborText(primaryKey));
  txn.memberPut(schema, 'rows', rows);
  txn.memberPut(schema, 'next_index', cborUint(0));
  txn.memberPut(ROOT_PTR, tableMember(name), schema);
}

/** Takes the next insertion index of a table without a primary key. */
export function nextIndex(txn: WriteTxn, t: TableSchema): number {
  const n = readCborUint(txn.memberValue(t.ptr, 'next_index')) ?? 0;
  txn.memberPut(t.ptr, 'next_index', cborUint(n + 1));
  return n;
}

/** Order-preserving bytes of a primary key value (numbers as sortable float64, text NUL-terminated). */
export function encodeKey(v: Exclude<SqlValue, null>): Buffer {
  if (typeof v === 'string') {
    if (v.includes('\u0000')) throw new LmjError('CONSTRAINT_FAILED', 'a text primary key cannot contain NUL');
    const b = Buffer.concat([Buffer.of(0x02), Buffer.from(v, 'utf8'), Buffer.of(0)]);
    if (b.length + 17 > 511) throw new LmjError('CONSTRAINT_FAILED', 'primary key longer than 492 bytes');
    return b;
  }
  const out = Buffer.alloc(9);
  out[0] = 0x01;
  out.writeDoubleBE(Number(v) === 0 ? 0 : Number(v), 1);
  // Flip so byte order is numeric order: sign bit for positives, all bits for negatives.
  if (((out[1] as number) & 0x80) !== 0) for (let i = 1; i < 9; i++) out[i] = ~(out[i] as number) & 0xff;
  else out[1] = (out[1] as number) | 0x80;
  return out;
}

/** Row key of an insertion index. */
export function indexKey(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
}

/** A value coerced to a column's type; CONSTRAINT_FAILED when it does not fit. */
export function coerce(v: SqlValue, col: ColumnDef, table: string): SqlValue {
  if (v === null) {
    if (col.notNull) throw new LmjError('CONSTRAINT_FAILED', `${table}.${col.name} cannot be NULL`, { details: { column: col.name } });
    return null;
  }
  const t: ColumnType = col.type;
  const bad = (): never => {
    throw new LmjError('CONSTRAINT_FAILED', `${table}.${col.name} is ${t}, got ${JSON.stringify(v)}`, { details: { column: col.name } });
  };
  if (t === 'text') return typeof v === 'string' ? v : bad();
  if (t === 'bool') return typeof v === 'boolean' ? v : v === 0 || v === 1 ? v === 1 : bad();
  if (typeof v !== 'number' || !Number.isFinite(v)) return bad();
  if (t === 'int' && !Number.isSafeInteger(v)) return bad();
  return v;
}

/** Stored bytes of a coerced non-NULL value (`real` always as float64). */
export function encodeColumn(v: Exclude<SqlValue, null>, col: ColumnDef): Buffer {
  return encodeSql(v, col.type === 'real');
}
