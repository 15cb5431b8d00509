/**
 * The uplink wire format (docs/sync.md): one CBOR batch = readings of several devices,
 * each device's records in element (= commit) order, every member's exact bytes.
 *
 *   { v: 1, gw: "<gateway id>", seq: <uint>, d: [ [deviceId, [record, …]], … ] }
 *   record = [ element (25 B: 8 B BE ts ‖ 17 B pointer), [name, value, name, value, …] ]
 *
 * Member names are in byte order and include `$ts` and `$id`; the record's pointer,
 * ts and identity are derived from the element and `$id`, so nothing is sent twice.
 * {@link decodeBatch} validates the WHOLE batch (the router applies nothing unless
 * every record of every device passes).
 */
import { Encoder, decode } from 'cbor-x';
import { getCodec } from '../codec/index.js';
import { MAX_MEMBER_NAME_LEN, PTR_LEN, type Codec } from '../codec/types.js';
import { IDENTITY_LEN } from '../core/telemetry/identity.js';
import { ELEMENT_LEN, ID_MEMBER, TS_MEMBER } from '../core/telemetry/model.js';
import type { ReadingRecord } from '../core/telemetry/types.js';
import { cborBytes, cborUint } from '../core/telemetry/values.js';
import { LmjError } from '../errors.js';

/** Wire format version. */
export const BATCH_VERSION = 1;
/** Largest member value accepted in a batch (a flattened leaf is far smaller). */
export const MAX_VALUE_LEN = 65_536;
/** Most devices in one batch. */
export const MAX_BATCH_DEVICES = 10_000;
/** Most records in one batch. */
export const MAX_BATCH_RECORDS = 200_000;
/** Bytes a record costs on the wire besides its members' names and values (element, array heads). */
export const RECORD_OVERHEAD = 32;

/** One device's part of a batch. */
export interface DeviceRecords {
  deviceId: string;
  records: ReadingRecord[];
}

/** A decoded, fully validated batch. */
export interface Batch {
  gatewayId: string;
  seq: number;
  devices: DeviceRecords[];
}

/** What the router answers for one device. */
export type DeviceAnswer =
  | { id: string; cursor: string; applied: number; duplicates: number }
  | { id: string; error: { code: string; message: string } };

/** The router's answer to a batch: one entry per device of the batch. */
export interface BatchAnswer {
  seq: number;
  devices: DeviceAnswer[];
}

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });

/** Wire bytes a record costs (for batch size bounds and backlog estimates). */
export function recordBytes(r: ReadingRecord): number {
  let n = RECORD_OVERHEAD + ELEMENT_LEN;
  for (const m of r.members) n += m.name.length + m.value.length + 4;
  return n;
}

/** Encodes a batch (records as exported by `exportRecords`). */
export function encodeBatch(batch: Batch): Buffer {
  const d = batch.devices.map((dev) => [
    dev.deviceId,
    dev.records.map((r) => [r.element, r.members.flatMap((m) => [m.name, m.value])]),
  ]);
  return encoder.encode({ v: BATCH_VERSION, gw: batch.gatewayId, seq: batch.seq, d });
}

function bad(message: string, details: Record<string, unknown> = {}): LmjError {
  return new LmjError('BAD_BATCH', message, { details });
}

function isBytes(v: unknown): v is Buffer {
  return v instanceof Uint8Array;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Options of {@link decodeBatch}. */
export interface DecodeOptions {
  /** Device id rule of the receiving side (the gateway's id syntax). */
  isValidDeviceId: (id: string) => boolean;
  /** The authenticated gateway: the batch must name the same one. */
  gatewayId?: string;
  codec?: Codec;
}

/** Validates one record and returns it in `ReadingRecord` form. Throws BAD_BATCH / WRONG_PARTITION / MEMBER_TOO_LONG. */
function decodeRecord(raw: unknown, deviceId: string, partition: number, where: Record<string, unknown>): ReadingRecord {
  if (!Array.isArray(raw) || raw.length !== 2) throw bad('a record must be [element, members]', where);
  const [element, flat] = raw as [unknown, unknown];
  if (!isBytes(element) || element.length !== ELEMENT_LEN || element[8] !== 0x01) {
    throw bad('record element must be 8-byte ts ‖ 17-byte object pointer', where);
  }
  const el = asBuffer(element);
  const ptr = Buffer.from(el.subarray(8, 8 + PTR_LEN));
  if (ptr.readUInt16BE(1) !== partition) {
    throw new LmjError('WRONG_PARTITION', `record pointer is not in device ${deviceId}'s partition`, {
      details: { ...where, partition, pointerPartition: ptr.readUInt16BE(1) },
    });
  }
  const ts = Number(el.readBigUInt64BE(0));
  if (!Number.isSafeInteger(ts)) throw bad('record ts out of range', where);
  if (!Array.isArray(flat) || flat.length < 4 || flat.length % 2 !== 0) {
    throw bad('record members must be a flat [name, value, …] list with $ts and $id', where);
  }
  const members: { name: Buffer; value: Buffer }[] = [];
  let identity: Buffer | undefined;
  let sawTs = false;
  let prev: Buffer | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    const name: unknown = flat[i];
    const value: unknown = flat[i + 1];
    if (!isBytes(name) || !isBytes(value)) throw bad('member names and values must be byte strings', where);
    if (name.length < 1 || name.length > MAX_MEMBER_NAME_LEN) {
      throw new LmjError('MEMBER_TOO_LONG', `member name of ${name.length} bytes (1..${MAX_MEMBER_NAME_LEN})`, {
        details: { ...where, length: name.length },
      });
    }
    if (value.length > MAX_VALUE_LEN) throw bad(`member value longer than ${MAX_VALUE_LEN} bytes`, where);
    const n = asBuffer(name);
    const v = asBuffer(value);
    if (prev !== undefined && Buffer.compare(prev, n) >= 0) throw bad('member names must be unique and in byte order', where);
    prev = n;
    if (n.equals(TS_MEMBER)) {
      if (!v.equals(cborUint(ts))) throw bad('$ts does not match the element timestamp', where);
      sawTs = true;
    } else if (n.equals(ID_MEMBER)) {
      if (v.length !== IDENTITY_LEN + 1 || !v.equals(cborBytes(v.subarray(1)))) throw bad('$id must be a 16-byte CBOR byte string', where);
      identity = Buffer.from(v.subarray(1));
    }
    members.push({ name: n, value: v });
  }
  if (!sawTs || identity === undefined) throw bad('record lacks $ts or $id', where);
  return { element: Buffer.from(el), ptr, ts, identity, members };
}

/**
 * Decodes and validates a whole batch. Throws LmjError BAD_BATCH (truncated CBOR,
 * wrong schema, unordered records…), WRONG_PARTITION (a pointer outside its device's
 * partition), MEMBER_TOO_LONG or UNAUTHORIZED (batch names another gateway).
 */
export function decodeBatch(body: Uint8Array, options: DecodeOptions): Batch {
  const codec = options.codec ?? getCodec();
  let top: unknown;
  try {
    top = decode(body);
  } catch (cause) {
    throw new LmjError('BAD_BATCH', `batch is not valid CBOR: ${(cause as Error).message}`, { cause });
  }
  if (top === null || typeof top !== 'object' || Array.isArray(top) || isBytes(top)) throw bad('batch must be a CBOR map');
  const t = top as Record<string, unknown>;
  for (const key of Object.keys(t)) if (!['v', 'gw', 'seq', 'd'].includes(key)) throw bad(`unknown batch key ${JSON.stringify(key.slice(0, 40))}`);
  if (t.v !== BATCH_VERSION) throw bad(`unsupported batch version ${JSON.stringify(t.v)}`);
  if (typeof t.gw !== 'string' || t.gw.length < 1 || t.gw.length > 64) throw bad('gw must be the gateway id');
  if (options.gatewayId !== undefined && t.gw !== options.gatewayId) {
    throw new LmjError('UNAUTHORIZED', 'batch names another gateway than the authenticated one');
  }
  if (typeof t.seq !== 'number' || !Number.isSafeInteger(t.seq) || t.seq < 0) throw bad('seq must be a non-negative integer');
  if (!Array.isArray(t.d) || t.d.length < 1 || t.d.length > MAX_BATCH_DEVICES) throw bad(`d must list 1..${MAX_BATCH_DEVICES} devices`);
  const seen = new Set<string>();
  const devices: DeviceRecords[] = [];
  let total = 0;
  for (const [di, part] of (t.d as unknown[]).entries()) {
    if (!Array.isArray(part) || part.length !== 2) throw bad('a device part must be [deviceId, records]', { device: di });
    const [id, recs] = part as [unknown, unknown];
    if (typeof id !== 'string' || !options.isValidDeviceId(id)) throw bad('invalid device id', { device: di });
    if (seen.has(id)) throw bad('device listed twice', { deviceId: id });
    seen.add(id);
    if (!Array.isArray(recs) || recs.length < 1) throw bad('a device part needs at least one record', { deviceId: id });
    total += recs.length;
    if (total > MAX_BATCH_RECORDS) throw new LmjError('BATCH_TOO_LARGE', `more than ${MAX_BATCH_RECORDS} records`);
    const partition = codec.partitionOf(id);
    const records: ReadingRecord[] = [];
    let prev: Buffer | undefined;
    for (const [ri, raw] of (recs as unknown[]).entries()) {
      const r = decodeRecord(raw, id, partition, { deviceId: id, record: ri });
      // Strictly increasing elements: the gateway's commit order, no repeats.
      if (prev !== undefined && Buffer.compare(prev, r.element) >= 0) throw bad('records must be in element order', { deviceId: id, record: ri });
      prev = r.element;
      records.push(r);
    }
    devices.push({ deviceId: id, records });
  }
  return { gatewayId: t.gw, seq: t.seq, devices };
}

/** Parses the router's JSON answer; throws UPSTREAM_FAILED when it is not one. */
export function parseAnswer(body: unknown): BatchAnswer {
  const b = body as Partial<BatchAnswer> | null;
  if (b === null || typeof b !== 'object' || !Array.isArray(b.devices) || typeof b.seq !== 'number') {
    throw new LmjError('UPSTREAM_FAILED', 'router answer is not a batch answer');
  }
  for (const d of b.devices as unknown[]) {
    const e = d as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || typeof e.id !== 'string') throw new LmjError('UPSTREAM_FAILED', 'router answer has a bad device entry');
    if (!(typeof e.cursor === 'string' && /^[0-9a-f]{50}$/.test(e.cursor)) && (e.error === null || typeof e.error !== 'object')) {
      throw new LmjError('UPSTREAM_FAILED', 'router answer entry has neither cursor nor error');
    }
  }
  return b as BatchAnswer;
}
