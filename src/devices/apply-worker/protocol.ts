/**
 * The messages between a process's main thread and its device-apply worker
 * (./worker.ts). One request = one device's group: its records packed into ONE
 * ArrayBuffer that is transferred, not copied. A record carries the flattened form the
 * main thread already computed (it flattens every message before the ack, to validate
 * it), or — for a message its queue held as its payload only — the raw payload, which the
 * worker flattens. The worker applies them in one durable commit and answers with one
 * outcome per record and the device's root stats. A close request gives a lent instance
 * back.
 *
 * Packed record (little-endian): u8 kind (1 telemetry, 2 meta), u8 body (0 auto, 1 json,
 * 2 cbor: a raw payload of that format; 255: flattened), f64 receivedAt (Unix ms), 16 B
 * identity, u32 body length, body. A flattened body: u32 n, n × (u32 path length, u32
 * value length), then the n paths and n values, in that order.
 */
import type { FlattenLimits, Flattened, PayloadFormat } from '../../codec/types.js';
import type { GroupEntry } from '../../core/telemetry/apply-group.js';
import type { Durability } from '../../core/types.js';
import type { ErrorCode } from '../../errors.js';

/** One record of a group, as the main thread hands it over: flattened already, or its raw payload. */
export type GroupRecord = {
  kind: 'telemetry' | 'meta';
  receivedAt: number;
  /** The message identity (16 bytes). */
  identity: Uint8Array;
} & ({ flat: Flattened } | { format: PayloadFormat; payload: Uint8Array });

/** A record as the worker unpacks it (Buffers are views into the transferred buffer). */
export type UnpackedRecord = { kind: 'telemetry' | 'meta'; receivedAt: number; identity: Buffer } & ({ flat: Flattened } | { format: PayloadFormat; payload: Buffer });

/** How the worker opens a device's instance (the same options the pool opens it with). */
export interface OpenSpec {
  dir: string;
  deviceId: string;
  durability: Durability;
  mapSize?: number;
}

/**
 * Main → worker: apply one device's group. The worker opens the instance unless it has it
 * open from an earlier group (the pool lent it: ./client.ts) and keeps it open after a
 * successful commit; after a failed one it closes it.
 */
export interface ApplyRequest extends OpenSpec {
  type: 'apply';
  id: number;
  records: ArrayBuffer;
  count: number;
  flattenLimits: Partial<FlattenLimits>;
}

/** Main → worker: close the instance in `dir` if it is open (the pool wants it back). */
export interface CloseRequest {
  type: 'close';
  id: number;
  dir: string;
}

/** What the worker is sent. */
export type WorkerRequest = ApplyRequest | CloseRequest;

/** An error as it crosses the thread boundary (code, errno and message kept for classification). */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  /** The system error code of the cause (`ENOSPC`, 28, …), when there was one. */
  cause?: { code?: string | number; message: string; commitFailed?: boolean };
}

/** One record's outcome: stored, duplicate, a meta merge (`meta`), or refused before the commit. */
export type WireOutcome =
  | { s: 'stored'; ptr: string; ts: number }
  | { s: 'duplicate'; ptr: string }
  | { s: 'meta' }
  | { s: 'refused'; error: WireError };

/** Worker → main: the answer to one request. */
export type ApplyReply =
  /** `entry` is null when every record was refused (nothing written). */
  | { id: number; ok: true; outcomes: WireOutcome[]; entry: GroupEntry | null }
  /** A failed group: the worker closed the instance before answering. */
  | { id: number; ok: false; error: WireError }
  /** The answer to a {@link CloseRequest}: the instance is closed. */
  | { id: number; ok: true; closed: true };

const HEADER = 1 + 1 + 8 + 16 + 4;
const FORMATS: readonly PayloadFormat[] = ['auto', 'json', 'cbor'];
const FLAT = 255;

function flatSize(flat: Flattened): number {
  let n = 4 + 8 * flat.paths.length;
  for (let i = 0; i < flat.paths.length; i++) n += flat.paths[i]!.length + flat.values[i]!.length;
  return n;
}

function packFlat(flat: Flattened, view: DataView, bytes: Uint8Array, at: number): void {
  const n = flat.paths.length;
  view.setUint32(at, n, true);
  let data = at + 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const p = flat.paths[i]!;
    view.setUint32(at + 4 + 8 * i, p.length, true);
    bytes.set(p, data);
    data += p.length;
  }
  for (let i = 0; i < n; i++) {
    const v = flat.values[i]!;
    view.setUint32(at + 8 + 8 * i, v.length, true);
    bytes.set(v, data);
    data += v.length;
  }
}

function unpackFlat(buf: ArrayBuffer, view: DataView, at: number, end: number): Flattened {
  const n = view.getUint32(at, true);
  let data = at + 4 + 8 * n;
  if (data > end) throw new RangeError('packed flattened record cut short');
  const paths = new Array<Buffer>(n);
  const values = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(at + 4 + 8 * i, true);
    paths[i] = Buffer.from(buf, data, len);
    data += len;
  }
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(at + 8 + 8 * i, true);
    values[i] = Buffer.from(buf, data, len);
    data += len;
  }
  if (data > end) throw new RangeError('packed flattened record cut short');
  return { paths, values };
}

/** Packs records into one transferable buffer. */
export function packRecords(records: readonly GroupRecord[]): ArrayBuffer {
  let size = 0;
  const lens = records.map((r) => ('flat' in r ? flatSize(r.flat) : r.payload.length));
  for (const len of lens) size += HEADER + len;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let at = 0;
  for (const [i, r] of records.entries()) {
    if (r.identity.length !== 16) throw new RangeError('identity must be 16 bytes');
    const len = lens[i]!;
    view.setUint8(at, r.kind === 'telemetry' ? 1 : 2);
    view.setUint8(at + 1, 'flat' in r ? FLAT : FORMATS.indexOf(r.format));
    view.setFloat64(at + 2, r.receivedAt, true);
    bytes.set(r.identity, at + 10);
    view.setUint32(at + 26, len, true);
    if ('flat' in r) packFlat(r.flat, view, bytes, at + HEADER);
    else bytes.set(r.payload, at + HEADER);
    at += HEADER + len;
  }
  return buf;
}

/** Unpacks what {@link packRecords} made (Buffers are views into `buf`, not copies). */
export function unpackRecords(buf: ArrayBuffer, count: number): UnpackedRecord[] {
  const view = new DataView(buf);
  const out: UnpackedRecord[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + HEADER > buf.byteLength) throw new RangeError('packed records cut short');
    const len = view.getUint32(at + 26, true);
    const end = at + HEADER + len;
    if (end > buf.byteLength) throw new RangeError('packed record payload cut short');
    const body = view.getUint8(at + 1);
    const head = { kind: view.getUint8(at) === 1 ? ('telemetry' as const) : ('meta' as const), receivedAt: view.getFloat64(at + 2, true), identity: Buffer.from(buf, at + 10, 16) };
    out.push(body === FLAT ? { ...head, flat: unpackFlat(buf, view, at + HEADER, end) } : { ...head, format: FORMATS[body] ?? 'auto', payload: Buffer.from(buf, at + HEADER, len) });
    at = end;
  }
  return out;
}
