/**
 * The batch wire format (./batch.ts) written and read directly, without a generic CBOR
 * library: the gateway's encode and the router's decode were a third of each side's CPU
 * during a catch-up (docs/sync.md, Where the drain's time goes), most of it generic
 * per-item work (a JS value per byte string, a copy of every element, pointer and
 * identity, allocations for every `$ts` check).
 *
 * {@link writeBatch} emits the same CBOR items cbor-x does for the batch object (a
 * definite map, `seq` as float64 above 2^32 as cbor-x writes it, so older routers read
 * it unchanged). {@link readBatch} reads the definite-length shape every gateway sends
 * and validates it with the same rules as the generic path; it returns undefined for
 * anything it does not take (other CBOR spellings, any rule broken), and the caller then
 * runs the generic decoder, which accepts or refuses it with its exact error. Records it
 * returns point into the body (no copies); member names equal to the previous record's
 * share its Buffer.
 */
import { MAX_MEMBER_NAME_LEN, PTR_LEN, type Codec } from '../codec/types.js';
import { IDENTITY_LEN } from '../core/telemetry/identity.js';
import { ELEMENT_LEN } from '../core/telemetry/model.js';
import { recordItemBytes, writeRecordItem } from '../core/telemetry/record-wire.js';
import type { ReadingRecord } from '../core/telemetry/types.js';

/** What {@link writeBatch} takes (./batch.ts `Batch`). */
export interface WireBatch {
  gatewayId: string;
  seq: number;
  devices: readonly { deviceId: string; records: readonly ReadingRecord[] }[];
}

/** Limits and rules {@link readBatch} checks (./batch.ts passes its own). */
export interface WireRules {
  version: number;
  maxValueLen: number;
  maxDevices: number;
  maxRecords: number;
  isValidDeviceId: (id: string) => boolean;
  codec: Codec;
}

function headLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

function writeHead(out: Buffer, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m | 25;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  if (n < 0x100000000) {
    out[at] = m | 26;
    out.writeUInt32BE(n, at + 1);
    return at + 5;
  }
  out[at] = m | 27;
  out.writeUInt32BE(Math.floor(n / 0x100000000), at + 1);
  out.writeUInt32BE(n >>> 0, at + 5);
  return at + 9;
}

function writeBytes(out: Buffer, at: number, major: number, b: Uint8Array): number {
  const p = writeHead(out, at, major, b.length);
  out.set(b, p);
  return p + b.length;
}

const KEY_V = Buffer.from([0x61, 0x76]);
const KEY_GW = Buffer.from([0x62, 0x67, 0x77]);
const KEY_SEQ = Buffer.from([0x63, 0x73, 0x65, 0x71]);
const KEY_D = Buffer.from([0x61, 0x64]);

/** One device part already encoded: `count` record items back to back in `items`. */
export interface WirePart {
  deviceId: string;
  count: number;
  items: Buffer;
}

/** Encodes a batch; `version` is the wire version written as `v`. */
export function writeBatch(batch: WireBatch, version: number): Buffer {
  return writeBatchParts(batch.gatewayId, batch.seq, batch.devices.map((d) => ({ deviceId: d.deviceId, records: d.records })), version);
}

/** Encodes a batch of parts whose record items are encoded already (the uplink's exports). */
export function writeBatchItems(gatewayId: string, seq: number, parts: readonly WirePart[], version: number): Buffer {
  return writeBatchParts(gatewayId, seq, parts, version);
}

type Part = { deviceId: string; records: readonly ReadingRecord[] } | WirePart;

function writeBatchParts(gatewayId: string, seq: number, parts: readonly Part[], version: number): Buffer {
  const gw = Buffer.from(gatewayId, 'utf8');
  const ids = parts.map((d) => Buffer.from(d.deviceId, 'utf8'));
  // `seq` above 2^32 as float64, as cbor-x writes it (cbor-x reads uint64 as a BigInt).
  const seqFloat = seq >= 0x100000000;
  let size = 1 + KEY_V.length + headLen(version) + KEY_GW.length + headLen(gw.length) + gw.length + KEY_SEQ.length;
  size += (seqFloat ? 9 : headLen(seq)) + KEY_D.length + headLen(parts.length);
  parts.forEach((d, i) => {
    const id = ids[i]!;
    const count = 'items' in d ? d.count : d.records.length;
    size += 1 + headLen(id.length) + id.length + headLen(count);
    if ('items' in d) size += d.items.length;
    else for (const r of d.records) size += recordItemBytes(r);
  });
  const out = Buffer.allocUnsafe(size);
  out[0] = 0xa4;
  let at = 1;
  out.set(KEY_V, at);
  at = writeHead(out, at + KEY_V.length, 0, version);
  out.set(KEY_GW, at);
  at = writeBytes(out, at + KEY_GW.length, 3, gw);
  out.set(KEY_SEQ, at);
  at += KEY_SEQ.length;
  if (seqFloat) {
    out[at] = 0xfb;
    out.writeDoubleBE(seq, at + 1);
    at += 9;
  } else at = writeHead(out, at, 0, seq);
  out.set(KEY_D, at);
  at = writeHead(out, at + KEY_D.length, 4, parts.length);
  parts.forEach((d, i) => {
    out[at++] = 0x82;
    at = writeBytes(out, at, 3, ids[i]!);
    if ('items' in d) {
      at = writeHead(out, at, 4, d.count);
      out.set(d.items, at);
      at += d.items.length;
    } else {
      at = writeHead(out, at, 4, d.records.length);
      for (const r of d.records) at = writeRecordItem(out, at, r);
    }
  });
  return out;
}

/** Thrown inside {@link readBatch} when the fast path does not take the body. */
const NOT_TAKEN = new Error('not taken by the fast batch reader');

/** A cursor over the body: definite-length heads only. */
class Reader {
  at = 0;
  constructor(readonly b: Buffer) {}

  /** Reads a head of `major`; returns its argument. */
  head(major: number): number {
    const b = this.b;
    const first = b[this.at];
    if (first === undefined || first >> 5 !== major) throw NOT_TAKEN;
    const info = first & 31;
    this.at++;
    if (info < 24) return info;
    let n: number;
    if (info === 24) n = b[this.at++] ?? -1;
    else if (info === 25) {
      n = this.at + 2 <= b.length ? b.readUInt16BE(this.at) : -1;
      this.at += 2;
    } else if (info === 26) {
      n = this.at + 4 <= b.length ? b.readUInt32BE(this.at) : -1;
      this.at += 4;
    } else if (info === 27) {
      n = this.at + 8 <= b.length ? b.readUInt32BE(this.at) * 0x100000000 + b.readUInt32BE(this.at + 4) : -1;
      this.at += 8;
    } else throw NOT_TAKEN;
    if (n < 0 || !Number.isSafeInteger(n)) throw NOT_TAKEN;
    return n;
  }

  /** Reads a byte or text string of `major`; returns its start (the end is `this.at`). */
  bytes(major: number): number {
    const len = this.head(major);
    const start = this.at;
    this.at += len;
    if (this.at > this.b.length) throw NOT_TAKEN;
    return start;
  }

  /** An ASCII text string (anything else goes to the generic path, whose decoding decides). */
  ascii(): string {
    const s = this.bytes(3);
    for (let i = s; i < this.at; i++) if (this.b[i]! >= 0x80) throw NOT_TAKEN;
    return this.b.toString('latin1', s, this.at);
  }

  /** `seq`: an unsigned integer, or a float holding one (cbor-x writes large ones so). */
  number(): number {
    const first = this.b[this.at];
    if (first === 0xfb && this.at + 9 <= this.b.length) {
      const v = this.b.readDoubleBE(this.at + 1);
      this.at += 9;
      if (!Number.isSafeInteger(v) || v < 0) throw NOT_TAKEN;
      return v;
    }
    return this.head(0);
  }
}

/** Byte order of `b[s1,e1)` against `b[s2,e2)`: negative, 0, positive. */
function compareIn(b: Buffer, s1: number, e1: number, s2: number, e2: number): number {
  const n = Math.min(e1 - s1, e2 - s2);
  for (let i = 0; i < n; i++) {
    const d = b[s1 + i]! - b[s2 + i]!;
    if (d !== 0) return d;
  }
  return e1 - s1 - (e2 - s2);
}

/** True when `b[s,e)` holds the same bytes as `name`. */
function sameBytes(b: Buffer, s: number, e: number, name: Buffer): boolean {
  if (name.length !== e - s) return false;
  for (let i = 0; i < name.length; i++) if (b[s + i] !== name[i]) return false;
  return true;
}

/** True when `b[s,e)` is the canonical CBOR unsigned integer `n`. */
function isUintAt(b: Buffer, s: number, e: number, n: number): boolean {
  const len = e - s;
  if (n < 24) return len === 1 && b[s] === n;
  if (n < 0x100) return len === 2 && b[s] === 0x18 && b[s + 1] === n;
  if (n < 0x10000) return len === 3 && b[s] === 0x19 && b.readUInt16BE(s + 1) === n;
  if (n < 0x100000000) return len === 5 && b[s] === 0x1a && b.readUInt32BE(s + 1) === n;
  return len === 9 && b[s] === 0x1b && b.readUInt32BE(s + 1) * 0x100000000 + b.readUInt32BE(s + 5) === n;
}

const DOLLAR = 0x24;

/** One record at `r.at` of device `partition`; `prev` is the previous record (names shared). */
function readRecord(r: Reader, rules: WireRules, partition: number, prev: ReadingRecord | undefined): ReadingRecord {
  const b = r.b;
  if (r.head(4) !== 2) throw NOT_TAKEN;
  const es = r.bytes(2);
  if (r.at - es !== ELEMENT_LEN || b[es + 8] !== 0x01 || b.readUInt16BE(es + 9) !== partition) throw NOT_TAKEN;
  const hi = b.readUInt32BE(es);
  if (hi >= 0x200000) throw NOT_TAKEN;
  const ts = hi * 0x100000000 + b.readUInt32BE(es + 4);
  const count = r.head(4);
  if (count < 4 || count % 2 !== 0) throw NOT_TAKEN;
  const members: { name: Buffer; value: Buffer }[] = new Array(count / 2);
  let identity: Buffer | undefined;
  let sawTs = false;
  let ps = -1;
  let pe = -1;
  for (let k = 0; k < count / 2; k++) {
    const ns = r.bytes(2);
    const ne = r.at;
    const vs = r.bytes(2);
    const ve = r.at;
    if (ne - ns < 1 || ne - ns > MAX_MEMBER_NAME_LEN || ve - vs > rules.maxValueLen) throw NOT_TAKEN;
    if (ps >= 0 && compareIn(b, ps, pe, ns, ne) >= 0) throw NOT_TAKEN;
    ps = ns;
    pe = ne;
    const shared = prev?.members[k]?.name;
    const name = shared !== undefined && sameBytes(b, ns, ne, shared) ? shared : b.subarray(ns, ne);
    if (ne - ns === 3 && b[ns] === DOLLAR) {
      if (b[ns + 1] === 0x74 && b[ns + 2] === 0x73) {
        if (!isUintAt(b, vs, ve, ts)) throw NOT_TAKEN;
        sawTs = true;
      } else if (b[ns + 1] === 0x69 && b[ns + 2] === 0x64) {
        if (ve - vs !== IDENTITY_LEN + 1 || b[vs] !== 0x40 + IDENTITY_LEN) throw NOT_TAKEN;
        identity = b.subarray(vs + 1, ve);
      }
    }
    members[k] = { name, value: b.subarray(vs, ve) };
  }
  if (!sawTs || identity === undefined) throw NOT_TAKEN;
  return { element: b.subarray(es, es + ELEMENT_LEN), ptr: b.subarray(es + 8, es + 8 + PTR_LEN), ts, identity, members };
}

/** One device part `[deviceId, [record, …]]`; undefined-free or NOT_TAKEN. */
function readPart(r: Reader, rules: WireRules, seen: Set<string>): { deviceId: string; records: ReadingRecord[] } {
  if (r.head(4) !== 2) throw NOT_TAKEN;
  const deviceId = r.ascii();
  if (!rules.isValidDeviceId(deviceId) || seen.has(deviceId)) throw NOT_TAKEN;
  seen.add(deviceId);
  const n = r.head(4);
  if (n < 1 || n > rules.maxRecords) throw NOT_TAKEN;
  const partition = rules.codec.partitionOf(deviceId);
  const records: ReadingRecord[] = new Array(n);
  let prev: ReadingRecord | undefined;
  for (let i = 0; i < n; i++) {
    const rec = readRecord(r, rules, partition, prev);
    // Strictly increasing elements: the gateway's commit order, no repeats.
    if (prev !== undefined && Buffer.compare(prev.element, rec.element) >= 0) throw NOT_TAKEN;
    records[i] = rec;
    prev = rec;
  }
  return { deviceId, records };
}

/**
 * Reads and validates a batch body in the shape gateways write; undefined when it does
 * not take it (the generic decoder then decides). `gatewayId` is not checked here.
 */
export function readBatch(body: Buffer, rules: WireRules): WireBatch & { devices: { deviceId: string; records: ReadingRecord[] }[] } | undefined {
  const r = new Reader(body);
  try {
    const keys = r.head(5);
    if (keys !== 4) return undefined;
    let v: number | undefined;
    let gw: string | undefined;
    let seq: number | undefined;
    let devices: { deviceId: string; records: ReadingRecord[] }[] | undefined;
    for (let k = 0; k < keys; k++) {
      const key = r.ascii();
      if (key === 'v' && v === undefined) v = r.head(0);
      else if (key === 'gw' && gw === undefined) gw = r.ascii();
      else if (key === 'seq' && seq === undefined) seq = r.number();
      else if (key === 'd' && devices === undefined) {
        const n = r.head(4);
        if (n < 1 || n > rules.maxDevices) return undefined;
        const seen = new Set<string>();
        devices = new Array(n);
        let total = 0;
        for (let i = 0; i < n; i++) {
          const part = readPart(r, rules, seen);
          total += part.records.length;
          if (total > rules.maxRecords) return undefined;
          devices[i] = part;
        }
      } else return undefined;
    }
    if (r.at !== body.length || v !== rules.version || gw === undefined || gw.length < 1 || gw.length > 64 || seq === undefined || devices === undefined) return undefined;
    return { gatewayId: gw, seq, devices };
  } catch (err) {
    if (err === NOT_TAKEN) return undefined;
    throw err;
  }
}
