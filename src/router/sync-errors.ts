/**
 * How the router's sync endpoint refuses a batch: the error registry's HTTP status for an
 * LmjError, 413 / 415 for fastify's size and media-type refusals, counted by code and
 * logged (nothing was written).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { LmjError, isLmjError } from '../errors.js';
import { errorBody } from '../http/errors.js';
import type { Logger } from '../http/logger.js';

/** The error handler of `POST /sync/v1/batch`. */
export function syncErrorHandler(log: Logger, batches: Counter<'result'>, maxBatchBytes: number) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void => {
    const fe = err as FastifyError;
    let e: LmjError;
    let status: number;
    if (isLmjError(err)) {
      e = err;
      status = e.httpStatus;
    } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = new LmjError('BATCH_TOO_LARGE', `batch larger than ${maxBatchBytes} bytes`);
      status = e.httpStatus;
    } else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      e = new LmjError('BAD_BATCH', 'batches are application/cbor');
      status = 415;
    } else if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
      e = new LmjError('BAD_BATCH', `bad request: ${fe.message}`);
      status = fe.statusCode;
    } else {
      log.error({ err }, 'sync endpoint failed');
      e = new LmjError('STORE_IO', 'internal error');
      status = 500;
    }
    batches.inc({ result: e.code });
    if (status < 500) log.warn({ gateway: req.headers['x-lmj-gateway'], code: e.code, reason: e.message, details: e.details }, 'sync batch refused');
    void reply.code(status).type('application/json').send({ error: { ...errorBody(e).error, ...(e.details === undefined ? {} : { details: e.details }) } });
  };
}
