/**
 * Errors fastify answers before a route's error handler runs — a path parameter over
 * `maxParamLength` (414), a malformed URL (400) and the socket-level parse failures of
 * Node's HTTP parser (431 for oversize headers or request line, 408, 400) — in the same
 * `{"error":{"code","errno","message"}}` shape as every other error.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LmjError } from '../errors.js';
import { errorBody } from './errors.js';

/** Fastify's `frameworkErrors` option: router-level errors as LmjError bodies. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const lmj = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? new LmjError('URI_TOO_LONG', 'a path parameter is longer than 128 characters')
    : new LmjError('BAD_REQUEST', `bad request: ${err.message}`);
  void reply.code(lmj.httpStatus).type('application/json').send(errorBody(lmj));
}

/** The error a parse failure of the request head maps to (status 408 is not in the registry). */
function clientErrorFor(code: string | undefined): { status: number; body: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, body: JSON.stringify(errorBody(new LmjError('BAD_REQUEST', 'request timed out'))) };
  }
  const lmj = code === 'HPE_HEADER_OVERFLOW'
    ? new LmjError('HEADERS_TOO_LARGE', 'request line and headers exceed the HTTP header size limit')
    : new LmjError('BAD_REQUEST', 'malformed HTTP request');
  return { status: lmj.httpStatus, body: JSON.stringify(errorBody(lmj)) };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Fastify's `clientErrorHandler` option: writes the error body and closes the socket. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset or already destroyed socket has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = clientErrorFor(err.code);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
