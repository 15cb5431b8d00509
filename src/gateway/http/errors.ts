/**
 * Maps errors to HTTP responses: `{"error":{"code","errno","message"}}` with the
 * stable codes of src/errors.ts. An unexpected error becomes 500 STORE_IO without
 * internal detail (it is logged instead).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LmjError, isLmjError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../logger.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  BAD_DEVICE_ID: 400,
  INVALID_POINTER: 400,
  INVALID_PARAM: 400,
  MEMBER_TOO_LONG: 400,
  NOT_FOUND: 404,
  ENTITY_NOT_FOUND: 404,
  DEVICE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  OVERLOADED: 503,
};

/** HTTP status for an error code (500 for anything not listed). */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** The JSON error body. */
export function errorBody(err: LmjError): { error: { code: ErrorCode; errno: number; message: string } } {
  return { error: { code: err.code, errno: err.errno, message: err.message } };
}

/** Fastify error handler: schema validation → 400 BAD_REQUEST, LmjError → its status, else 500. */
export function makeErrorHandler(log: Logger) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void => {
    let lmj: LmjError;
    const fe = err as FastifyError;
    if (isLmjError(err)) {
      lmj = err;
    } else if (fe.validation !== undefined || fe.code === 'FST_ERR_VALIDATION') {
      lmj = new LmjError('BAD_REQUEST', `bad request: ${fe.message}`);
    } else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Fastify's own client errors (bad JSON body, too large, bad URL encoding).
      lmj = new LmjError('BAD_REQUEST', `bad request: ${fe.message}`);
    } else {
      log.error({ err, url: req.url }, 'http handler failed');
      lmj = new LmjError('STORE_IO', 'internal error');
    }
    void reply.code(statusFor(lmj.code)).type('application/json').send(errorBody(lmj));
  };
}
