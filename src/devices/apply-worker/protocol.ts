/**
 * The messages between a process's main thread and its device-apply worker
 * (./worker.ts). One request = one device's group: its records (raw payloads, as
 * journaled) packed into ONE ArrayBuffer that is transferred, not copied. The worker
 * flattens and applies them in one durable commit and answers with one outcome per
 * record and the device's root stats.
 *
 * Packed record (little-endian): u8 kind (1 telemetry, 2 meta), u8 format (0 auto,
 * 1 json, 2 cbor), f64 receivedAt (Unix ms), 16 B identity, u32 payload length, payload.
 */
import type { FlattenLimits, PayloadFormat } from '../../codec/types.js';
import type { GroupEntry } from '../../core/telemetry/apply-group.js';
import type { Durability } from '../../core/types.js';
import type { ErrorCode } from '../../errors.js';

/** One record of a group, as the main thread hands it over. */
export interface GroupRecord {
  kind: 'telemetry' | 'meta';
  format: PayloadFormat;
  receivedAt: number;
  /** The message identity (16 bytes). */
  identity: Uint8Array;
  payload: Uint8Array;
}

/** How the worker opens a device's instance (the same options the pool opens it with). */
export interface OpenSpec {
  dir: string;
  deviceId: string;
  durability: Durability;
  mapSize?: number;
}

/** Main → worker: apply one device's group. */
export interface ApplyRequest extends OpenSpec {
  id: number;
  records: ArrayBuffer;
  count: number;
  flattenLimits: Partial<FlattenLimits>;
}

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
  | { id: number; ok: false; error: WireError };

const HEADER = 1 + 1 + 8 + 16 + 4;
const FORMATS: readonly PayloadFormat[] = ['auto', 'json', 'cbor'];

/** Packs records into one transferable buffer. */
export function packRecords(records: readonly GroupRecord[]): ArrayBuffer {
  let size = 0;
  for (const r of records) size += HEADER + r.payload.length;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let at = 0;
  for (const r of records) {
    if (r.identity.length !== 16) throw new RangeError('identity must be 16 bytes');
    view.setUint8(at, r.kind === 'telemetry' ? 1 : 2);
    view.setUint8(at + 1, FORMATS.indexOf(r.format));
    view.setFloat64(at + 2, r.receivedAt, true);
    bytes.set(r.identity, at + 10);
    view.setUint32(at + 26, r.payload.length, true);
    bytes.set(r.payload, at + HEADER);
    at += HEADER + r.payload.length;
  }
  return buf;
}

/** Unpacks what {@link packRecords} made (Buffers are views into `buf`, not copies). */
export function unpackRecords(buf: ArrayBuffer, count: number): (GroupRecord & { identity: Buffer; payload: Buffer })[] {
  const view = new DataView(buf);
  const out: (GroupRecord & { identity: Buffer; payload: Buffer })[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + HEADER > buf.byteLength) throw new RangeError('packed records cut short');
    const len = view.getUint32(at + 26, true);
    if (at + HEADER + len > buf.byteLength) throw new RangeError('packed record payload cut short');
    out.push({
      kind: view.getUint8(at) === 1 ? 'telemetry' : 'meta',
      format: FORMATS[view.getUint8(at + 1)] ?? 'auto',
      receivedAt: view.getFloat64(at + 2, true),
      identity: Buffer.from(buf, at + 10, 16),
      payload: Buffer.from(buf, at + HEADER, len),
    });
    at += HEADER + len;
  }
  return out;
}
