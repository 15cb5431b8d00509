/**
 * The codec contract: what the native addon and the portable TypeScript codec both
 * implement, byte for byte. The full rules live in docs/codec.md; the essentials:
 *
 * Pointers (docs/codec.md §1): 17 bytes, byte 0 entity type (0x01 object, 0x02 set),
 * bytes 1–2 partition (big-endian), 3–8 creation time in Unix ms (big-endian,
 * never going backwards within a process), 9–16 a per-process random nonce plus a
 * counter, so pointers are unique across processes and increase within one.
 *
 * Flatten: a telemetry payload (JSON text or CBOR bytes; a map at the top) becomes
 * a list of (path, value) pairs, sorted by the bytes of the path:
 * - object keys join with `.`, array indexes are `[i]`; inside a key the bytes
 *   `.` `[` `]` `\` are escaped with `\`, and a top-level key starting with `$` gets a
 *   leading `\` (names starting with `$` are reserved for the gateway's own members);
 * - duplicate keys: the last one wins, as with JSON.parse;
 * - leaves are encoded as canonical CBOR: null `f6`, false `f4`, true `f5`,
 *   CBOR `undefined` `f7`, integers within ±(2^53−1) (and integral CBOR ints up to
 *   64 bits) in the shortest major-0/1 form, every other number as float64 `fb`,
 *   text as major 3 (UTF-8; lone surrogates become U+FFFD), CBOR byte strings as
 *   major 2; an empty object or array is a leaf `a0` / `80`;
 * - rejected (nothing written): invalid JSON/CBOR, a top level that is not a map,
 *   nesting deeper than `maxDepth`, more than `maxFields` leaves, a path longer than
 *   493 bytes, NaN/±Infinity, an empty key, CBOR tags or non-text map keys.
 */

/** Entity type byte: 0x01 object, 0x02 set (LMJCore's reserved values). */
export type EntityType = 0x01 | 0x02;

/** Object entity type byte. */
export const OBJECT_TYPE = 0x01 as const;
/** Set entity type byte. */
export const SET_TYPE = 0x02 as const;
/** Pointer length in bytes. */
export const PTR_LEN = 17;
/** Longest key LMDB accepts by default (liblmdb's MDB_MAXKEYSIZE). */
export const MAX_KEY_LEN = 511;
/** Longest member name: 511 − 17 − 1 (LMJCore's LMJCORE_MAX_MEMBER_NAME_LEN). */
export const MAX_MEMBER_NAME_LEN = MAX_KEY_LEN - PTR_LEN - 1;
/** Longest set element (dupsort value), same limit as a key. */
export const MAX_ELEMENT_LEN = MAX_KEY_LEN;

/** Payload format; `auto` detects (JSON starts with optional whitespace then `{`). */
export type PayloadFormat = 'json' | 'cbor' | 'auto';

/** Limits for flattening one payload. */
export interface FlattenLimits {
  /** Deepest allowed nesting of maps/arrays (top-level map is depth 1). Default 32. */
  maxDepth: number;
  /** Most leaves one payload may produce. Default 1024. */
  maxFields: number;
}

/** Defaults used by both codecs and by the gateway unless configured. */
export const DEFAULT_FLATTEN_LIMITS: Readonly<FlattenLimits> = Object.freeze({ maxDepth: 32, maxFields: 1024 });

/** The flattened form of one payload: parallel arrays, sorted by path bytes. */
export interface Flattened {
  /** Flattened key paths (member names), 1..493 bytes each, sorted bytewise, unique. */
  paths: Buffer[];
  /** Canonical CBOR encoding of each leaf, same index as `paths`. */
  values: Buffer[];
}

/** One result of a batch flatten: the payload flattened, or why it was refused. */
export type FlattenOutcome =
  | { ok: true; flat: Flattened }
  | { ok: false; error: import('../errors.js').LmjError };

/** What both codec implementations provide. */
export interface Codec {
  /** Which implementation this is. */
  readonly kind: 'native' | 'portable';
  /** A new pointer of the given type in the given partition (0..65535). */
  newPointer(type: EntityType, partition: number): Buffer;
  /** The partition of a device id: the same number on every gateway and router. */
  partitionOf(deviceId: string): number;
  /** 34 lowercase hex characters. Throws INVALID_POINTER for a bad pointer. */
  formatPointer(ptr: Uint8Array): string;
  /** Parses hex text (either case). Throws INVALID_POINTER for anything else. */
  parsePointer(text: string): Buffer;
  /** Flattens one payload. Throws the LmjError of the first rule it breaks. */
  flatten(payload: Uint8Array, format?: PayloadFormat, limits?: Partial<FlattenLimits>): Flattened;
  /** Flattens many payloads in one call; one bad payload does not affect the others. */
  flattenBatch(payloads: readonly Uint8Array[], format?: PayloadFormat, limits?: Partial<FlattenLimits>): FlattenOutcome[];
  /** The native reading scan (native codec only; src/core/reading-columns.ts). */
  readonly scan?: ReadingScanKernel;
  /** The native member writes (native codec only; src/core/native-write.ts). */
  readonly write?: WriteKernel;
}

/**
 * The addon's member writes inside an lmdb-js write transaction (native/src/write.cc):
 * the existence marker, names and values of one object, packed in `ops`, put in one
 * call through the MDB_txn the environment `envAddress` has open.
 */
export interface WriteKernel {
  /** Version string of the liblmdb compiled into the addon; must equal lmdb-js's. */
  readonly lmdbVersion: string;
  /** Names newly registered (>= 0), or < 0: an LMDB code, a status, or -errno. */
  writeMembers(envAddress: number, setDbi: number, mainDbi: number, ops: Uint8Array, length: number): number;
  /** liblmdb's message for a return code. */
  lmdbError(rc: number): string;
}

/**
 * The addon's reading scan over an lmdb-js read transaction (native/src/scan.cc): walks
 * the `readings` elements `[from, to)` of the set `setKey` and reads `members` of each
 * reading into `elements` (25 bytes a row), `kinds` (0 none, 1 number, 2 other) and
 * `nums` (row-major, one slot per member). `setKey` may instead be `owner ‖ member`: the
 * set pointer that member holds is then read in the same transaction and written to
 * `resolved` (no such owner: 0 rows; the member absent or not a set pointer: the
 * STORE_CORRUPT status). Returns the rows filled, or a status (< 0).
 */
export interface ReadingScanKernel {
  /** Version string of the liblmdb compiled into the addon; must equal lmdb-js's. */
  readonly lmdbVersion: string;
  scanReadings(
    txnAddress: number,
    setDbi: number,
    mainDbi: number,
    setKey: Uint8Array,
    from: Uint8Array | null,
    to: Uint8Array | null,
    members: readonly Uint8Array[],
    elements: Uint8Array,
    kinds: Uint8Array,
    nums: Float64Array,
    resolved: Uint8Array,
  ): number;
  /**
   * count/sum/min/max of one device's readings in `[from, to)` in one call, for the
   * query pushdown (src/query/pushdown.ts): `setKey` the set pointer, or `owner ‖
   * member` whose value (a set pointer) the call reads itself in the same transaction;
   * `preds` = [slot (-1 ts, else member), op, value]…, `width` the time bucket (0 none),
   * `aggs` = [fn, member]…. Answers [status (1: fall back to the row scan, 2: no such
   * owner, 3: the member is absent or not a set pointer), rows, values, groups, per
   * group: key, two numbers per aggregate…], or a status number (< 0).
   */
  aggregateReadings(
    txnAddress: number,
    setDbi: number,
    mainDbi: number,
    setKey: Uint8Array,
    from: Uint8Array | null,
    to: Uint8Array | null,
    members: readonly Uint8Array[],
    preds: Float64Array,
    width: number,
    aggs: Float64Array,
    maxRows: number,
  ): Float64Array | number;
}
