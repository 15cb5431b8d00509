/**
 * The values stored under the keys of keys.ts: JSON objects with a `format` field.
 * Every value read from etcd goes through a decoder here: a value that is not JSON,
 * not the expected shape, or out of range is TABLE_INVALID; a value from a newer format
 * version is TABLE_FORMAT_UNSUPPORTED. Decoders never return a half-checked record.
 */
import { LmjError } from '../errors.js';
import { FORMAT_VERSION, MEMBER_ID, PARTITIONS } from './keys.js';

/** Who owns a range: a data node, or a router group that routes it further down. */
export type Owner = { kind: 'node'; id: string } | { kind: 'group'; id: string };

/** The table header. `state` is `initializing` while `init` writes the ranges. */
export interface TableMeta {
  format: number;
  state: 'initializing' | 'ready';
  /** Increments with every table change (each mutation transaction writes it). */
  version: number;
  partitionsPerRange: number;
  createdAt: number;
}

/** One range of partitions, both ends inclusive. `epoch` increments with every owner change. */
export interface RangeRecord {
  format: number;
  from: number;
  to: number;
  /** null until the first batch for one of its partitions assigns it. */
  owner: Owner | null;
  epoch: number;
  /** The target of a move in progress (docs/cluster.md, Moves); absent or null otherwise. Never writable. */
  learner?: Owner | null;
  /** Set by a move's fence: the owner refuses writes (RANGE_FENCED) until the owner flips. */
  fenced?: boolean;
}

/** A data node that joined the cluster once (kept when it dies: its ranges stay its own). */
export interface NodeRecord {
  format: number;
  id: string;
  registeredAt: number;
}

/** A router group: routers that take over routing for the ranges it owns. */
export interface GroupRecord {
  format: number;
  id: string;
  /** Base URLs of the group's routers (any of them will do). */
  routers: string[];
}

/** A data node's load, refreshed with every lease keepalive. */
export interface LoadFigures {
  devices: number;
  bytes: number;
  writesPerSec: number;
  readsPerSec: number;
}

/** What a node can hold. */
export interface Capacity {
  devices: number;
  bytes: number;
}

/** A live data node (the key lives as long as the node's lease). */
export interface LiveNodeRecord {
  format: number;
  id: string;
  address: { host: string; port: number };
  capacity: Capacity;
  load: LoadFigures;
  startedAt: number;
  updatedAt: number;
  /** Started with `--join`: the balancer may move ranges onto it while it owns none (absent = false). */
  candidate?: boolean;
  /** How the node is reached: `https` when it listens with TLS (`--tls-cert`); absent = `http`. */
  scheme?: 'http' | 'https';
}

type Obj = Record<string, unknown>;

function invalid(key: string, why: string): LmjError {
  return new LmjError('TABLE_INVALID', `${key}: ${why}`, { details: { key } });
}

/** Parses a value into an object and checks its format version. */
function parseObject(key: string, raw: Buffer): Obj {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid(key, `not JSON (${raw.length} bytes)`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(key, 'not a JSON object');
  const o = v as Obj;
  if (!Number.isSafeInteger(o.format) || (o.format as number) < 1) throw invalid(key, 'no format version');
  if ((o.format as number) > FORMAT_VERSION) {
    throw new LmjError('TABLE_FORMAT_UNSUPPORTED', `${key}: format version ${String(o.format)}, this build reads ${FORMAT_VERSION}`, {
      details: { key, format: o.format, supported: FORMAT_VERSION },
    });
  }
  return o;
}

function uint(key: string, o: Obj, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw invalid(key, `${field} must be an integer 0..${max}`);
  return v;
}

function nonNegative(key: string, o: Obj, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(key, `${field} must be a number ≥ 0`);
  return v;
}

function memberId(key: string, v: unknown, field: string): string {
  if (typeof v !== 'string' || !MEMBER_ID.test(v)) throw invalid(key, `${field} must be 1..64 of A-Z a-z 0-9 _ -`);
  return v;
}

function object(key: string, v: unknown, field: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(key, `${field} must be an object`);
  return v as Obj;
}

function decodeOwner(key: string, v: unknown, field: string): Owner {
  const ow = object(key, v, field);
  if (ow.kind !== 'node' && ow.kind !== 'group') throw invalid(key, `${field}.kind must be node or group`);
  return { kind: ow.kind, id: memberId(key, ow.id, `${field}.id`) };
}

/** Decodes the table header. */
export function decodeMeta(key: string, raw: Buffer): TableMeta {
  const o = parseObject(key, raw);
  if (o.state !== 'initializing' && o.state !== 'ready') throw invalid(key, 'state must be initializing or ready');
  return {
    format: o.format as number,
    state: o.state,
    version: uint(key, o, 'version'),
    partitionsPerRange: (() => {
      const n = uint(key, o, 'partitionsPerRange', PARTITIONS);
      if (n < 1) throw invalid(key, `partitionsPerRange must be 1..${PARTITIONS}`);
      return n;
    })(),
    createdAt: uint(key, o, 'createdAt'),
  };
}

/** Decodes a range (its own bounds only; coverage is checked over the whole table). */
export function decodeRange(key: string, raw: Buffer): RangeRecord {
  const o = parseObject(key, raw);
  const from = uint(key, o, 'from', PARTITIONS - 1);
  const to = uint(key, o, 'to', PARTITIONS - 1);
  if (to < from) throw invalid(key, `to ${to} < from ${from}`);
  const owner = o.owner === null ? null : decodeOwner(key, o.owner, 'owner');
  const range: RangeRecord = { format: o.format as number, from, to, owner, epoch: uint(key, o, 'epoch') };
  if (o.learner !== undefined && o.learner !== null) {
    range.learner = decodeOwner(key, o.learner, 'learner');
    if (range.learner.kind !== 'node') throw invalid(key, 'learner must be a node');
  }
  if (o.fenced !== undefined) {
    if (typeof o.fenced !== 'boolean') throw invalid(key, 'fenced must be a boolean');
    if (o.fenced) range.fenced = true;
  }
  return range;
}

/** Decodes a node record. */
export function decodeNode(key: string, raw: Buffer): NodeRecord {
  const o = parseObject(key, raw);
  return { format: o.format as number, id: memberId(key, o.id, 'id'), registeredAt: uint(key, o, 'registeredAt') };
}

/** Decodes a router group record. */
export function decodeGroup(key: string, raw: Buffer): GroupRecord {
  const o = parseObject(key, raw);
  const routers = o.routers;
  if (!Array.isArray(routers) || routers.length === 0 || routers.some((u) => typeof u !== 'string' || !/^https?:\/\/\S+$/.test(u))) {
    throw invalid(key, 'routers must be a non-empty list of http(s) URLs');
  }
  return { format: o.format as number, id: memberId(key, o.id, 'id'), routers: routers as string[] };
}

/** Decodes a live-node record. */
export function decodeLiveNode(key: string, raw: Buffer): LiveNodeRecord {
  const o = parseObject(key, raw);
  const addr = object(key, o.address, 'address');
  if (typeof addr.host !== 'string' || addr.host.length === 0 || addr.host.length > 255) throw invalid(key, 'address.host must be a host name or address');
  const cap = object(key, o.capacity, 'capacity');
  const load = object(key, o.load, 'load');
  const capacity = { devices: uint(key, cap, 'devices'), bytes: uint(key, cap, 'bytes') };
  if (capacity.devices < 1 || capacity.bytes < 1) throw invalid(key, 'capacity must be ≥ 1');
  return {
    format: o.format as number,
    id: memberId(key, o.id, 'id'),
    address: { host: addr.host, port: uint(key, addr, 'port', 65535) },
    capacity,
    load: {
      devices: uint(key, load, 'devices'),
      bytes: uint(key, load, 'bytes'),
      writesPerSec: nonNegative(key, load, 'writesPerSec'),
      readsPerSec: nonNegative(key, load, 'readsPerSec'),
    },
    startedAt: uint(key, o, 'startedAt'),
    updatedAt: uint(key, o, 'updatedAt'),
    ...(o.candidate === undefined ? {} : { candidate: boolFlag(key, o.candidate, 'candidate') }),
    ...(o.scheme === undefined ? {} : { scheme: schemeOf(key, o.scheme) }),
  };
}

function schemeOf(key: string, v: unknown): 'http' | 'https' {
  if (v !== 'http' && v !== 'https') throw invalid(key, 'scheme must be "http" or "https"');
  return v;
}

function boolFlag(key: string, v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalid(key, `${name} must be true or false`);
  return v;
}

/** The bytes stored for a record. */
export function encodeRecord(record: TableMeta | RangeRecord | NodeRecord | GroupRecord | LiveNodeRecord): string {
  return JSON.stringify(record);
}
