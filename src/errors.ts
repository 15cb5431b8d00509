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
 * The registry: stable string code → numeric code and a default message.
 * Add new codes at the end of their group; never renumber or rename one.
 */
export const ERROR_CODES = {
  // LMJCore's codes (numbers fixed by the C library).
  INVALID_PARAM: { errno: LMJCORE_ERRNO.INVALID_PARAM, message: 'invalid parameter' },
  NULL_POINTER: { errno: LMJCORE_ERRNO.NULL_POINTER, message: 'missing pointer' },
  MEMBER_TOO_LONG: { errno: LMJCORE_ERRNO.MEMBER_TOO_LONG, message: 'member name or element too long' },
  INVALID_POINTER: { errno: LMJCORE_ERRNO.INVALID_POINTER, message: 'invalid pointer' },
  BUFFER_TOO_SMALL: { errno: LMJCORE_ERRNO.BUFFER_TOO_SMALL, message: 'buffer too small' },
  READONLY_TXN: { errno: LMJCORE_ERRNO.READONLY_TXN, message: 'write in a read-only transaction' },
  READONLY_PARENT: { errno: LMJCORE_ERRNO.READONLY_PARENT, message: 'child transaction of a read-only transaction' },
  ENTITY_NOT_FOUND: { errno: LMJCORE_ERRNO.ENTITY_NOT_FOUND, message: 'entity not found' },
  ENTITY_EXISTS: { errno: LMJCORE_ERRNO.ENTITY_EXISTS, message: 'entity already exists' },
  ENTITY_TYPE_MISMATCH: { errno: LMJCORE_ERRNO.ENTITY_TYPE_MISMATCH, message: 'entity type mismatch' },
  MEMBER_NOT_FOUND: { errno: LMJCORE_ERRNO.MEMBER_NOT_FOUND, message: 'member not found' },
  MEMBER_EXISTS: { errno: LMJCORE_ERRNO.MEMBER_EXISTS, message: 'member or element already exists' },
  MEMBER_MISSING: { errno: LMJCORE_ERRNO.MEMBER_MISSING, message: 'member value missing' },
  MEMORY_ALLOCATION_FAILED: { errno: LMJCORE_ERRNO.MEMORY_ALLOCATION_FAILED, message: 'memory allocation failed' },
  GHOST_MEMBER: { errno: LMJCORE_ERRNO.GHOST_MEMBER, message: 'ghost member' },

  // Storage environment (-33000…): lmdb-level failures surfaced with their cause.
  STORE_OPEN_FAILED: { errno: -33000, message: 'cannot open the LMJCore instance' },
  STORE_CLOSED: { errno: -33001, message: 'the LMJCore instance is closed' },
  STORE_IO: { errno: -33002, message: 'storage I/O error' },
  STORE_CORRUPT: { errno: -33003, message: 'the LMJCore instance is corrupt' },
  TXN_FINISHED: { errno: -33004, message: 'transaction already committed or aborted' },

  // Payloads and codec (-33100…).
  BAD_JSON: { errno: -33100, message: 'payload is not valid JSON' },
  BAD_CBOR: { errno: -33101, message: 'payload is not valid CBOR' },
  NOT_AN_OBJECT: { errno: -33102, message: 'payload is not an object or map' },
  TOO_DEEP: { errno: -33103, message: 'payload nesting too deep' },
  TOO_MANY_FIELDS: { errno: -33104, message: 'payload has too many fields' },
  PATH_TOO_LONG: { errno: -33105, message: 'flattened key path longer than 493 bytes' },
  NON_FINITE: { errno: -33106, message: 'non-finite number in payload' },
  EMPTY_KEY: { errno: -33107, message: 'empty key in payload' },
  PAYLOAD_TOO_LARGE: { errno: -33108, message: 'payload too large' },
  UNSUPPORTED_VALUE: { errno: -33109, message: 'unsupported value type in payload' },
  CODEC_UNAVAILABLE: { errno: -33110, message: 'requested codec is not available' },

  // Gateway input (-33200…).
  BAD_DEVICE_ID: { errno: -33200, message: 'invalid device id' },
  BAD_TOPIC: { errno: -33201, message: 'topic does not match the telemetry template' },
  DEVICE_UNAVAILABLE: { errno: -33202, message: 'device instance unavailable' },
  OVERLOADED: { errno: -33203, message: 'gateway overloaded' },
  BAD_REQUEST: { errno: -33204, message: 'bad request' },
  NOT_FOUND: { errno: -33205, message: 'not found' },
  BAD_CONFIG: { errno: -33206, message: 'invalid configuration' },
  SHUTTING_DOWN: { errno: -33207, message: 'shutting down' },

  // Sync and router (-33300…).
  UNAUTHORIZED: { errno: -33300, message: 'missing or wrong token' },
  BAD_BATCH: { errno: -33301, message: 'invalid uplink batch' },
  BATCH_TOO_LARGE: { errno: -33302, message: 'uplink batch too large' },
  WRONG_PARTITION: { errno: -33303, message: 'pointer does not belong to this device' },
  NO_ROUTE: { errno: -33304, message: 'no node for this partition' },
  UPSTREAM_FAILED: { errno: -33305, message: 'upstream request failed' },
  OUTBOX_FULL: { errno: -33306, message: 'outbox disk budget reached' },

  // SQL queries and pseudo-tables (-33400…).
  SQL_SYNTAX: { errno: -33400, message: 'SQL syntax error' },
  SQL_UNSUPPORTED: { errno: -33401, message: 'SQL feature not supported' },
  SQL_INVALID: { errno: -33402, message: 'invalid SQL query' },
  QUERY_LIMIT: { errno: -33403, message: 'query exceeded a limit' },
  TABLE_NOT_FOUND: { errno: -33404, message: 'no such table' },
  TABLE_EXISTS: { errno: -33405, message: 'table already exists' },
  CONSTRAINT_FAILED: { errno: -33406, message: 'row violates the table schema' },
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
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: LmjErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LmjError';
    this.code = code;
    this.errno = entry.errno;
    this.details = options.details;
  }

  /** JSON shape used by the HTTP API and logs. */
  toJSON(): { code: ErrorCode; errno: number; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, errno: this.errno, message: this.message }
      : { code: this.code, errno: this.errno, message: this.message, details: this.details };
  }
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

/** True when `err` is an {@link LmjError}, optionally with the given code. */
export function isLmjError(err: unknown, code?: ErrorCode): err is LmjError {
  return err instanceof LmjError && (code === undefined || err.code === code);
}
