/**
 * Maps errors to HTTP responses: `{"error":{"code","errno","message"}}` with the
 * stable codes and HTTP statuses of src/errors.ts's registry. An unexpected error becomes 500 STORE_IO without
 * internal detail (it is logged instead).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LmjError, isLmjError, type ErrorCode } from '../errors.js';
import type { Logger } from './logger.js';

const ROUTING_REFUSALS = new Set<ErrorCode>(['NOT_OWNER', 'STALE_EPOCH', 'EPOCH_AHEAD']);

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
    // A routing refusal's details (current range, epoch, owner) let a cluster router re-route at once.
    const body = ROUTING_REFUSALS.has(lmj.code) && lmj.details !== undefined ? { error: { ...errorBody(lmj).error, details: lmj.details } } : errorBody(lmj);
    void reply.code(lmj.httpStatus).type('application/json').send(body);
  };
}
