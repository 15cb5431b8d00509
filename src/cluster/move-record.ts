/**
 * The record of one range move, `/lmj/v1/moves/<id>` (format 1, docs/cluster.md, Moves):
 * which range goes from which node to which, the phase it has reached, and its progress.
 * Every phase change is an etcd transaction on the record's mod revision (moves.ts), so
 * whoever drives the move next — the same router or another one — continues from here.
 */
import { LmjError } from '../errors.js';
import { FORMAT_VERSION, MEMBER_ID, PARTITIONS } from './keys.js';

/** The phases, in order; the last three are terminal. */
export const MOVE_PHASES = ['requested', 'learner', 'copying', 'catching-up', 'fenced', 'flipped', 'done', 'cancelled', 'rolled-back'] as const;
/** A move's phase. */
export type MovePhase = (typeof MOVE_PHASES)[number];

/** True once nothing more happens to the move. */
export function isTerminal(phase: MovePhase): boolean {
  return phase === 'done' || phase === 'cancelled' || phase === 'rolled-back';
}

/** Copy progress, refreshed while the move copies. */
export interface MoveProgress {
  /** Devices whose copy has caught up with the source in the current pass. */
  devicesCopied: number;
  /** Devices of the range on the source (at the start of the current pass). */
  devicesTotal: number;
  /** Record bytes copied so far (all passes). */
  bytes: number;
  /** Readings copied so far (all passes). */
  readings: number;
  /** Copy passes done (1 = the bulk copy; later ones copy the delta). */
  passes: number;
}

/** One move. */
export interface MoveRecord {
  format: number;
  id: string;
  range: { from: number; to: number };
  /** The owner when the move was requested (the node the data comes from). */
  source: string;
  target: string;
  phase: MovePhase;
  /** The range's epoch when the move was requested. */
  epoch: number;
  /** The epoch the fence set (null before the fence). */
  fenceEpoch: number | null;
  progress: MoveProgress;
  createdAt: number;
  updatedAt: number;
  fencedAt: number | null;
  flippedAt: number | null;
  /** When the copy left behind was deleted (`cluster cleanup`): the source's after `done`, the target's after a cancel or roll-back. */
  cleanedAt: number | null;
  /** Copy bytes per second for this move (null: the driving router's `--move-rate`). */
  rateBytesPerSec: number | null;
  /** The router driving the move (its election value), when one does. */
  driver: string | null;
  error: { code: string; message: string } | null;
}

type Obj = Record<string, unknown>;

function invalid(key: string, why: string): LmjError {
  return new LmjError('TABLE_INVALID', `${key}: ${why}`, { details: { key } });
}

function uint(key: string, o: Obj, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw invalid(key, `${field} must be an integer 0..${max}`);
  return v;
}

function uintOrNull(key: string, o: Obj, field: string): number | null {
  return o[field] === null || o[field] === undefined ? null : uint(key, o, field);
}

function id(key: string, v: unknown, field: string): string {
  if (typeof v !== 'string' || !MEMBER_ID.test(v)) throw invalid(key, `${field} must be 1..64 of A-Z a-z 0-9 _ -`);
  return v;
}

function obj(key: string, v: unknown, field: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(key, `${field} must be an object`);
  return v as Obj;
}

function driverOf(key: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' || v.length > 200) throw invalid(key, 'driver must be a string of ≤ 200 characters');
  return v;
}

/** Decodes a move record; TABLE_INVALID for a bad value, TABLE_FORMAT_UNSUPPORTED for a newer format. */
export function decodeMove(key: string, raw: Buffer): MoveRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid(key, 'not JSON');
  }
  const o = obj(key, v, 'value');
  const format = uint(key, o, 'format');
  if (format < 1) throw invalid(key, 'no format version');
  if (format > FORMAT_VERSION) throw new LmjError('TABLE_FORMAT_UNSUPPORTED', `${key}: format version ${format}, this build reads ${FORMAT_VERSION}`, { details: { key, format, supported: FORMAT_VERSION } });
  const range = obj(key, o.range, 'range');
  const from = uint(key, range, 'from', PARTITIONS - 1);
  const to = uint(key, range, 'to', PARTITIONS - 1);
  if (to < from) throw invalid(key, 'range.to < range.from');
  if (typeof o.phase !== 'string' || !(MOVE_PHASES as readonly string[]).includes(o.phase)) throw invalid(key, `phase must be one of ${MOVE_PHASES.join(', ')}`);
  const p = obj(key, o.progress, 'progress');
  let error: MoveRecord['error'] = null;
  if (o.error !== null && o.error !== undefined) {
    const e = obj(key, o.error, 'error');
    if (typeof e.code !== 'string' || typeof e.message !== 'string') throw invalid(key, 'error must be {code, message}');
    error = { code: e.code, message: e.message };
  }
  return {
    format,
    id: id(key, o.id, 'id'),
    range: { from, to },
    source: id(key, o.source, 'source'),
    target: id(key, o.target, 'target'),
    phase: o.phase as MovePhase,
    epoch: uint(key, o, 'epoch'),
    fenceEpoch: uintOrNull(key, o, 'fenceEpoch'),
    progress: { devicesCopied: uint(key, p, 'devicesCopied'), devicesTotal: uint(key, p, 'devicesTotal'), bytes: uint(key, p, 'bytes'), readings: uint(key, p, 'readings'), passes: uint(key, p, 'passes') },
    createdAt: uint(key, o, 'createdAt'),
    updatedAt: uint(key, o, 'updatedAt'),
    fencedAt: uintOrNull(key, o, 'fencedAt'),
    flippedAt: uintOrNull(key, o, 'flippedAt'),
    cleanedAt: uintOrNull(key, o, 'cleanedAt'),
    rateBytesPerSec: uintOrNull(key, o, 'rateBytesPerSec'),
    driver: driverOf(key, o.driver),
    error,
  };
}
