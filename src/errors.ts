/**
 * The one error registry of lmj-edge.
 *
 * Every error the project raises on purpose is an {@link LmjError} with a stable
 * string `code` (what scripts, HTTP clients and tests match on) and, where the
 * condition exists in the reference C library, LMJCore's numeric code `errno`
 * (`-32000` … `-32100`). Conditions that LMJCore has no number for (bad payloads,
 * configuration, sync) carry numbers from our own range, `-33000` and below, so
 * a numeric code never collides with the C library's.
 *
 * Native code never throws: it returns a status number from this table and
 * TypeScript turns it into the error with {@link fromStatus}.
 */

/** LMJCore's own numbers, as in the reference C library's `lmjcore.h`. */
export const LMJCORE_ERRNO = {
  INVALID_PARAM: -32000,
  NULL_POINTER: -32001,
  MEMBER_TOO_LONG: -32002,
  INVALID_POINTER: -32003,
  BUFFER_TOO_SMALL: -32004,
  READONLY_TXN: -32020,
  READONLY_PARENT: -32021,
  ENTITY_NOT_FOUND: -32040,
  ENTITY_EXISTS: -32041,
  ENTITY_TYPE_MISMATCH: -32042,
  MEMBER_NOT_FOUND: -32060,
  MEMBER_EXISTS: -32061,
  MEMBER_MISSING: -32062,
  MEMORY_ALLOCATION_FAILED: -32080,
  GHOST_MEMBER: -32100,
} as const;

/**
 * The registry: stable string code → numeric code, the HTTP status it answers with
 * (gateway and router alike; 500 for conditions a client cannot cause) and a default
 * message. Add new codes at the end of their group; never renumber or rename one.
 */
export const ERROR_CODES = {
  // LMJCore's codes (numbers fixed by the C library).
  INVALID_PARAM: { errno: LMJCORE_ERRNO.INVALID_PARAM, httpStatus: 400, message: 'invalid parameter' },
  NULL_POINTER: { errno: LMJCORE_ERRNO.NULL_POINTER, httpStatus: 500, message: 'missing pointer' },
  MEMBER_TOO_LONG: { errno: LMJCORE_ERRNO.MEMBER_TOO_LONG, httpStatus: 400, message: 'member name or element too long' },
  INVALID_POINTER: { errno: LMJCORE_ERRNO.INVALID_POINTER, httpStatus: 400, message: 'invalid pointer' },
  BUFFER_TOO_SMALL: { errno: LMJCORE_ERRNO.BUFFER_TOO_SMALL, httpStatus: 500, message: 'buffer too small' },
  READONLY_TXN: { errno: LMJCORE_ERRNO.READONLY_TXN, httpStatus: 500, message: 'write in a read-only transaction' },
  READONLY_PARENT: { errno: LMJCORE_ERRNO.READONLY_PARENT, httpStatus: 500, message: 'child transaction of a read-only transaction' },
  ENTITY_NOT_FOUND: { errno: LMJCORE_ERRNO.ENTITY_NOT_FOUND, httpStatus: 404, message: 'entity not found' },
  ENTITY_EXISTS: { errno: LMJCORE_ERRNO.ENTITY_EXISTS, httpStatus: 500, message: 'entity already exists' },
  ENTITY_TYPE_MISMATCH: { errno: LMJCORE_ERRNO.ENTITY_TYPE_MISMATCH, httpStatus: 500, message: 'entity type mismatch' },
  MEMBER_NOT_FOUND: { errno: LMJCORE_ERRNO.MEMBER_NOT_FOUND, httpStatus: 500, message: 'member not found' },
  MEMBER_EXISTS: { errno: LMJCORE_ERRNO.MEMBER_EXISTS, httpStatus: 500, message: 'member or element already exists' },
  MEMBER_MISSING: { errno: LMJCORE_ERRNO.MEMBER_MISSING, httpStatus: 500, message: 'member value missing' },
  MEMORY_ALLOCATION_FAILED: { errno: LMJCORE_ERRNO.MEMORY_ALLOCATION_FAILED, httpStatus: 500, message: 'memory allocation failed' },
  GHOST_MEMBER: { errno: LMJCORE_ERRNO.GHOST_MEMBER, httpStatus: 500, message: 'ghost member' },

  // Storage environment (-33000…): lmdb-level failures surfaced with their cause.
  STORE_OPEN_FAILED: { errno: -33000, httpStatus: 500, message: 'cannot open the LMJCore instance' },
  STORE_CLOSED: { errno: -33001, httpStatus: 500, message: 'the LMJCore instance is closed' },
  STORE_IO: { errno: -33002, httpStatus: 500, message: 'storage I/O error' },
  STORE_CORRUPT: { errno: -33003, httpStatus: 500, message: 'the LMJCore instance is corrupt' },
  TXN_FINISHED: { errno: -33004, httpStatus: 500, message: 'transaction already committed or aborted' },
  DISK_FULL: { errno: -33005, httpStatus: 503, message: 'data directory full or below its free-space threshold' },

  // Payloads and codec (-33100…).
  BAD_JSON: { errno: -33100, httpStatus: 500, message: 'payload is not valid JSON' },
  BAD_CBOR: { errno: -33101, httpStatus: 500, message: 'payload is not valid CBOR' },
  NOT_AN_OBJECT: { errno: -33102, httpStatus: 500, message: 'payload is not an object or map' },
  TOO_DEEP: { errno: -33103, httpStatus: 500, message: 'payload nesting too deep' },
  TOO_MANY_FIELDS: { errno: -33104, httpStatus: 500, message: 'payload has too many fields' },
  PATH_TOO_LONG: { errno: -33105, httpStatus: 500, message: 'flattened key path longer than 493 bytes' },
  NON_FINITE: { errno: -33106, httpStatus: 500, message: 'non-finite number in payload' },
  EMPTY_KEY: { errno: -33107, httpStatus: 500, message: 'empty key in payload' },
  PAYLOAD_TOO_LARGE: { errno: -33108, httpStatus: 500, message: 'payload too large' },
  UNSUPPORTED_VALUE: { errno: -33109, httpStatus: 500, message: 'unsupported value type in payload' },
  CODEC_UNAVAILABLE: { errno: -33110, httpStatus: 500, message: 'requested codec is not available' },
  INTEGER_OUT_OF_RANGE: { errno: -33111, httpStatus: 500, message: 'integer outside the 64-bit range of CBOR (-2^64 .. 2^64-1)' },

  // Gateway input (-33200…).
  BAD_DEVICE_ID: { errno: -33200, httpStatus: 400, message: 'invalid device id' },
  BAD_TOPIC: { errno: -33201, httpStatus: 500, message: 'topic does not match the telemetry template' },
  DEVICE_UNAVAILABLE: { errno: -33202, httpStatus: 503, message: 'device instance unavailable' },
  OVERLOADED: { errno: -33203, httpStatus: 503, message: 'gateway overloaded' },
  BAD_REQUEST: { errno: -33204, httpStatus: 400, message: 'bad request' },
  NOT_FOUND: { errno: -33205, httpStatus: 404, message: 'not found' },
  BAD_CONFIG: { errno: -33206, httpStatus: 500, message: 'invalid configuration' },
  SHUTTING_DOWN: { errno: -33207, httpStatus: 503, message: 'shutting down' },
  URI_TOO_LONG: { errno: -33208, httpStatus: 414, message: 'request URL or path parameter too long' },
  HEADERS_TOO_LARGE: { errno: -33209, httpStatus: 431, message: 'request header fields too large' },

  // Sync and router (-33300…).
  UNAUTHORIZED: { errno: -33300, httpStatus: 401, message: 'missing or wrong token' },
  ADMIN_LOOPBACK_ONLY: { errno: -33700, httpStatus: 403, message: 'admin endpoints answer loopback clients only' },
  BAD_BATCH: { errno: -33301, httpStatus: 400, message: 'invalid uplink batch' },
  BATCH_TOO_LARGE: { errno: -33302, httpStatus: 413, message: 'uplink batch too large' },
  WRONG_PARTITION: { errno: -33303, httpStatus: 400, message: 'pointer does not belong to this device' },
  NO_ROUTE: { errno: -33304, httpStatus: 500, message: 'no node for this partition' },
  UPSTREAM_FAILED: { errno: -33305, httpStatus: 500, message: 'upstream request failed' },
  OUTBOX_FULL: { errno: -33306, httpStatus: 500, message: 'outbox disk budget reached' },

  // Gateway write-ahead journal (-33400…).
  JOURNAL_IO: { errno: -33400, httpStatus: 503, message: 'journal write or fsync failed; the records are not durable' },
  JOURNAL_CORRUPT: { errno: -33401, httpStatus: 500, message: 'journal segment or checkpoint is corrupt' },
  JOURNAL_FULL: { errno: -33402, httpStatus: 503, message: 'journal byte budget reached' },
  JOURNAL_CLOSED: { errno: -33403, httpStatus: 503, message: 'the journal is closed' },

  // Cluster: routing table and membership in etcd (-33500…).
  CLUSTER_UNAVAILABLE: { errno: -33500, httpStatus: 503, message: 'etcd is unreachable' },
  TABLE_CONFLICT: { errno: -33501, httpStatus: 409, message: 'the routing table changed since it was read' },
  TABLE_INVALID: { errno: -33502, httpStatus: 500, message: 'the routing table in etcd is invalid' },
  TABLE_FORMAT_UNSUPPORTED: { errno: -33503, httpStatus: 500, message: 'the routing table in etcd has a newer format version' },
  TABLE_NOT_INITIALIZED: { errno: -33504, httpStatus: 503, message: 'the routing table is not initialized' },
  TABLE_EXISTS: { errno: -33505, httpStatus: 409, message: 'the routing table already exists' },
  NOT_OWNER: { errno: -33506, httpStatus: 421, message: 'this node does not own the partition' },
  STALE_EPOCH: { errno: -33507, httpStatus: 409, message: 'the request carries an older routing epoch' },
  EPOCH_AHEAD: { errno: -33508, httpStatus: 503, message: "the request carries a newer routing epoch than this node's table" },
  NO_LIVE_NODES: { errno: -33509, httpStatus: 503, message: 'no live data node to assign the partition to' },
  NODE_ID_IN_USE: { errno: -33510, httpStatus: 409, message: 'a live node is registered with this id' },
  UNASSIGNED: { errno: -33511, httpStatus: 503, message: 'the partition has no owner yet' },
  NODE_UNAVAILABLE: { errno: -33512, httpStatus: 503, message: 'the data node owning the partition is not reachable' },

  // Range moves (hot expansion, -33550…).
  RANGE_FENCED: { errno: -33550, httpStatus: 503, message: 'the range is fenced for a move: retry after the owner flips' },
  MOVE_NOT_FOUND: { errno: -33551, httpStatus: 404, message: 'no such move' },
  MOVE_CONFLICT: { errno: -33552, httpStatus: 409, message: 'the move or its range changed, or another move holds the range' },
  MOVE_BAD_TARGET: { errno: -33553, httpStatus: 409, message: 'the move target is unknown, not live, or the current owner' },
  RANGE_NOT_FOUND: { errno: -33554, httpStatus: 404, message: 'no range has these boundaries' },
  MOVE_FAILED: { errno: -33555, httpStatus: 500, message: 'a move step failed' },
  SPLIT_BAD_POINT: { errno: -33556, httpStatus: 400, message: 'the split point is outside the range or at its edge' },
  SPLIT_CONFLICT: { errno: -33557, httpStatus: 409, message: 'the range is fenced, has a learner or is in an active move, or it kept changing: nothing was split' },
  // Moves and routing between TLS nodes (-33570…).
  PEER_TLS: { errno: -33570, httpStatus: 502, message: 'the TLS handshake with a cluster peer failed (its certificate does not chain to the configured --upstream-ca, expired or names another host)' },

  // SQL queries and pseudo-tables (-33600…).
  SQL_SYNTAX: { errno: -33600, httpStatus: 400, message: 'SQL syntax error' },
  SQL_UNSUPPORTED: { errno: -33601, httpStatus: 400, message: 'SQL feature not supported' },
  SQL_INVALID: { errno: -33602, httpStatus: 400, message: 'invalid SQL query' },
  QUERY_LIMIT: { errno: -33603, httpStatus: 422, message: 'query exceeded a limit' },
  SQL_TABLE_NOT_FOUND: { errno: -33604, httpStatus: 404, message: 'no such table' },
  SQL_TABLE_EXISTS: { errno: -33605, httpStatus: 409, message: 'table already exists' },
  CONSTRAINT_FAILED: { errno: -33606, httpStatus: 400, message: 'row violates the table schema' },

  // Authentication and authorization: MQTT ACL, API tokens (-33740…).
  ACL_DENIED: { errno: -33740, httpStatus: 403, message: 'this MQTT client may not publish to that device' },
  TOKEN_MISSING: { errno: -33741, httpStatus: 401, message: 'an API token is required (authorization: Bearer <token>)' },
  TOKEN_INVALID: { errno: -33742, httpStatus: 401, message: 'wrong or revoked API token' },
  INSUFFICIENT_SCOPE: { errno: -33743, httpStatus: 403, message: 'the API token lacks the scope this endpoint needs' },
  AUTH_RATE_LIMITED: { errno: -33744, httpStatus: 429, message: 'too many failed authentications from this address' },
  // TLS material, listeners and uplinks (-33720…).
  TLS_FILE_MISSING: { errno: -33720, httpStatus: 500, message: 'a TLS certificate, key or CA file does not exist' },
  TLS_FILE_UNREADABLE: { errno: -33721, httpStatus: 500, message: 'a TLS certificate, key or CA file cannot be read' },
  TLS_BAD_PEM: { errno: -33722, httpStatus: 500, message: 'a TLS file holds no valid PEM certificate or key' },
  TLS_KEY_MISMATCH: { errno: -33723, httpStatus: 500, message: 'the TLS private key does not belong to the certificate' },
  UPSTREAM_TLS: { errno: -33725, httpStatus: 502, message: 'the upstream TLS handshake failed (certificate not trusted, expired or for another name)' },
  // Retention and compaction (-33610…).
  COMPACTION_FAILED: { errno: -33610, httpStatus: 500, message: 'the compaction copy failed; the old instance is kept' },
  // The device-apply worker (-33650…).
  APPLY_WORKER_LOST: { errno: -33650, httpStatus: 503, message: 'the device-apply worker ended before answering; the records stay in the journal and are applied again' },
  // Native reading scan (-33660…).
  SCAN_FAILED: { errno: -33660, httpStatus: 500, message: 'native reading scan failed (LMDB cursor error)' },
  // Native member writes (-33630…).
  NO_WRITE_TXN: { errno: -33630, httpStatus: 500, message: 'native write found no open lmdb-js write transaction' },
} as const;

/** A stable string error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

const BY_ERRNO = new Map<number, ErrorCode>(
  (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => [ERROR_CODES[code].errno, code]),
);

/** Options for {@link LmjError}: the underlying cause and structured details. */
export interface LmjErrorOptions {
  cause?: unknown;
  /** Machine-readable context (device id, path, offending length…), safe to log and return. */
  details?: Record<string, unknown>;
}

/** The error type of lmj-edge: a stable `code`, LMJCore's numeric `errno`, the `cause` kept. */
export class LmjError extends Error {
  readonly code: ErrorCode;
  readonly errno: number;
  /** The HTTP status of {@link code} (from the registry). */
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: LmjErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LmjError';
    this.code = code;
    this.errno = entry.errno;
    this.httpStatus = entry.httpStatus;
    this.details = options.details;
  }

  /** JSON shape used by the HTTP API and logs. */
  toJSON(): { code: ErrorCode; errno: number; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, errno: this.errno, message: this.message }
      : { code: this.code, errno: this.errno, message: this.message, details: this.details };
  }
}

/** The HTTP status registered for a code. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].httpStatus;
}

/** The string code registered for a numeric status, or undefined for an unknown number. */
export function codeForErrno(errno: number): ErrorCode | undefined {
  return BY_ERRNO.get(errno);
}

/**
 * Turns a numeric status (e.g. returned by the native addon) into an {@link LmjError}.
 * An unknown number becomes INVALID_PARAM with the number in `details`, never a crash.
 */
export function fromStatus(status: number, message?: string, details?: Record<string, unknown>): LmjError {
  const code = BY_ERRNO.get(status);
  if (code === undefined) {
    return new LmjError('INVALID_PARAM', message ?? `unknown status ${status}`, { details: { ...details, status } });
  }
  return new LmjError(code, message, details === undefined ? {} : { details });
}

/**
 * Runs `make` with stack capture off: for the errors that describe bad input, made by
 * the thousand under a flood, whose stack (the same codec frames every time) says
 * nothing. Capturing it was about half of what preparing a batch of bad JSON cost the
 * one JavaScript thread the good devices share (bench/bad-input.ts).
 */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** True when `err` is an {@link LmjError}, optionally with the given code. */
export function isLmjError(err: unknown, code?: ErrorCode): err is LmjError {
  return err instanceof LmjError && (code === undefined || err.code === code);
}
