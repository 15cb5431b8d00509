/**
 * A data node's query error handler: the shared mapping (src/http/errors.ts), except
 * that routing refusals keep their `details` (current range, epoch, owner, version) so
 * the router can re-route without another etcd read.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isLmjError } from '../../errors.js';
import { errorBody, makeErrorHandler } from '../../http/errors.js';
import type { Logger } from '../../http/logger.js';

const REFUSALS = new Set(['NOT_OWNER', 'STALE_EPOCH', 'EPOCH_AHEAD']);

/** The node's error handler. */
export function refusalAwareErrorHandler(log: Logger) {
  const shared = makeErrorHandler(log);
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void => {
    if (isLmjError(err) && REFUSALS.has(err.code)) {
      void reply.code(err.httpStatus).type('application/json').send({ error: { ...errorBody(err).error, details: err.details } });
      return;
    }
    shared(err, req, reply);
  };
}
