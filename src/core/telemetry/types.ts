/**
 * Types of the telemetry model (docs/telemetry-model.md): what is stored
 * per device instance, and the shapes the query functions return. The byte layout is
 * a contract shared by the gateway, the simulator's checker, sync and the router.
 */
import type { Flattened } from '../../codec/types.js';

/** A JSON value as returned by the queries (decoded canonical CBOR, see docs). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One telemetry message ready to be applied: flattened, identity computed. */
export interface ReadingInput {
  /** The codec's flattened paths and canonical CBOR values. */
  flat: Flattened;
  /** {@link messageIdentity} of the raw payload (16 bytes). */
  identity: Buffer;
  /** Gateway receive time, Unix ms (clamped to keep the device's readings append-only). */
  receivedAt: number;
}

/** One `meta` message ready to be applied. */
export interface MetaInput {
  flat: Flattened;
  receivedAt: number;
}

/** What applying one reading did. */
export type ApplyOutcome =
  | { status: 'stored'; ptr: Buffer; ts: number; element: Buffer }
  | { status: 'duplicate'; ptr: Buffer };

/** Summary of a device (its root object). */
export interface DeviceSummary {
  id: string;
  /** Unix ms of the first accepted message. */
  firstSeen: number;
  /** Unix ms of the last accepted message (reading ts or meta receive time). */
  lastSeen: number;
  /** Number of stored readings. */
  readings: number;
  /** `$ts` of the latest reading, or null before the first reading. */
  latestTs: number | null;
  /** The device's metadata (merged `meta` payloads), flattened paths → values. */
  meta: Record<string, JsonValue>;
  /** Pointers (hex) of the root and its child entities, for `entityView`. */
  pointers: { root: string; meta: string; latest: string; readings: string; ids: string };
}

/** The latest value of every flattened path ever reported. */
export interface LatestView {
  id: string;
  /** `$ts` of the last reading, null before the first reading. */
  ts: number | null;
  values: Record<string, JsonValue>;
}

/** Range query over a device's readings; `from` inclusive, `to` exclusive (Unix ms). */
export interface ReadingsQuery {
  from?: number;
  to?: number;
  /** 1..1000, default 100. */
  limit?: number;
  /** Flattened paths to return; a path also selects everything below it (`env` → `env.temp`). */
  fields?: readonly string[];
  /** The `next` string of the previous page (opaque: hex of the last element). */
  cursor?: string;
  /** Newest first. */
  reverse?: boolean;
}

/** One reading as returned by queries. */
export interface ReadingView {
  /** Gateway receive time (Unix ms) — the `readings` element's timestamp. */
  ts: number;
  /** Reading object pointer, hex. */
  ptr: string;
  /** Message identity, hex (32 chars). */
  id: string;
  /** Flattened paths → decoded values (without the `$` members). */
  values: Record<string, JsonValue>;
}

/** A page of readings; `next` is null on the last page. */
export interface ReadingsPage {
  readings: ReadingView[];
  next: string | null;
}

/** One member of an entity view. */
export interface EntityMemberView {
  /** The member name as UTF-8 text (invalid UTF-8 shown with U+FFFD). */
  name: string;
  /** The name's bytes as hex when they are not valid UTF-8. */
  nameHex?: string;
  /** Decoded scalar value (absent for references and missing values). */
  value?: JsonValue;
  /** Referenced entity pointer (hex) when the value is a 17-byte pointer. */
  ref?: string;
}

/** One element of a set view. */
export interface EntityElementView {
  hex: string;
  /** For `readings` elements: the timestamp and the reading pointer. */
  ts?: number;
  ref?: string;
}

/** A non-fatal problem found while viewing an entity. */
export interface EntityViewError {
  code: 'ENTITY_NOT_FOUND' | 'MEMBER_MISSING' | 'BAD_VALUE';
  name?: string;
  message: string;
}

/** A generic view of one entity, like lmjcore-web's `GET /obj/{ptr}`. */
export interface EntityView {
  ptr: string;
  type: 'object' | 'set';
  exists: boolean;
  members?: EntityMemberView[];
  elements?: EntityElementView[];
  /** Elements were cut at the view's limit. */
  truncated?: boolean;
  errors: EntityViewError[];
}

/** One stored reading in its exact byte form, for sync (export → uplink → apply). */
export interface ReadingRecord {
  /** The `readings` element: 8-byte BE ts ‖ 17-byte reading pointer. */
  element: Buffer;
  ptr: Buffer;
  ts: number;
  identity: Buffer;
  /** All members of the reading object (incl. `$ts`, `$id`), in name byte order. */
  members: { name: Buffer; value: Buffer }[];
}

/** Result of {@link applyRecords}. */
export interface ApplyRecordsResult {
  applied: number;
  /** Records already present (same identity or same element) — skipped. */
  duplicates: number;
  /** The root's stats after the apply (no second read of the root needed); absent for an empty batch. */
  root?: { firstSeen: number; lastSeen: number; readingCount: number };
}
