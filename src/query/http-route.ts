/**
 * `POST /query` (docs/query.md), shared by the gateway and the router:
 * `{"sql", "params"?, "maxRows"?, "timeoutMs"?}` → `{"columns","rows"}` (the router adds
 * `"partial": true, "failed": [{node, error}]` when a data node did not answer), or
 * NDJSON with `Accept: application/x-ndjson` (first line the columns, then one JSON
 * array per row, written as the client reads). Errors are the API's
 * `{"error":{"code","errno","message","details"}}`; SQL errors carry
 * `details.position`. Request limits may only lower the configured ones.
 */
import { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LmjError, isLmjError } from '../errors.js';
import { errorBody } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import type { QueryMetrics } from './http-metrics.js';
import type { Column, QueryLimits, QueryOptions, SqlValue } from './types.js';

/** A data node that did not answer its part of a scatter-gather query. */
export interface FailedNode {
  node: string;
  error: { code: string; errno: number; message: string };
}

/** What `POST /query` answers. */
export interface QueryAnswer {
  columns: Column[];
  rows: SqlValue[][];
  /** Router only: set when some node failed; `rows` are then over the nodes that answered. */
  partial?: true;
  failed?: FailedNode[];
}

/** Runs one statement for the endpoint. */
export type ExecuteQuery = (sql: string, options: QueryOptions) => Promise<QueryAnswer>;

/** Options of {@link registerQueryRoute}. */
export interface QueryRouteOptions {
  execute: ExecuteQuery;
  /** The most a request may ask for (the config's `query.*`). */
  limits: QueryLimits;
  metrics: QueryMetrics;
  log: Logger;
}

interface QueryBody {
  sql: string;
  params?: SqlValue[];
  maxRows?: number;
  timeoutMs?: number;
}

const bodySchema = {
  type: 'object',
  required: ['sql'],
  additionalProperties: false,
  properties: {
    sql: { type: 'string', minLength: 1, maxLength: 65536 },
    // Item types are checked by hand: the app's ajv coerces types, which would turn 0 into "0".
    params: { type: 'array', maxItems: 1024 },
    maxRows: { type: 'integer', minimum: 1 },
    timeoutMs: { type: 'integer', minimum: 1 },
  },
} as const;

/** The largest request body (SQL text ≤ 64 KiB plus parameters). */
const BODY_LIMIT = 256 * 1024;
/** NDJSON chunk size: rows are joined into chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/** The NDJSON body: the header line, then rows in chunks; pulled only as fast as the socket drains. */
function* ndjsonLines(answer: QueryAnswer): Generator<string> {
  const head = { columns: answer.columns, ...(answer.partial === true ? { partial: true, failed: answer.failed ?? [] } : {}) };
  let chunk = `${JSON.stringify(head)}\n`;
  for (const row of answer.rows) {
    chunk += `${JSON.stringify(row)}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

function wantsNdjson(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('application/x-ndjson');
}

/** The route's error handler: the API's error shape plus details (position, limit), counted by code. */
function queryErrorHandler(metrics: QueryMetrics, log: Logger) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void => {
    const fe = err as FastifyError;
    let e: LmjError;
    if (isLmjError(err)) e = err;
    else if (fe.validation !== undefined || (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)) {
      e = new LmjError('BAD_REQUEST', `bad request: ${fe.message}`);
    } else {
      log.error({ err, url: req.url }, 'query failed');
      e = new LmjError('STORE_IO', 'internal error');
    }
    metrics.queries.inc({ outcome: e.code });
    const body = errorBody(e);
    void reply.code(e.httpStatus).type('application/json').send({ error: { ...body.error, ...(e.details === undefined ? {} : { details: e.details }) } });
  };
}

/** Adds `POST /query` to `app`. */
export function registerQueryRoute(app: FastifyInstance, opts: QueryRouteOptions): void {
  const { metrics } = opts;
  app.post<{ Body: QueryBody }>(
    '/query',
    { bodyLimit: BODY_LIMIT, schema: { body: bodySchema }, errorHandler: queryErrorHandler(metrics, opts.log) },
    async (req, reply) => {
      const { sql, params = [], maxRows, timeoutMs } = req.body;
      params.forEach((v: unknown, i) => {
        if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw new LmjError('BAD_REQUEST', `bad request: params[${i}] must be a string, number, boolean or null`);
        }
      });
      const limits: QueryLimits = {
        ...opts.limits,
        maxRows: Math.min(maxRows ?? opts.limits.maxRows, opts.limits.maxRows),
        timeoutMs: Math.min(timeoutMs ?? opts.limits.timeoutMs, opts.limits.timeoutMs),
      };
      const end = metrics.duration.startTimer();
      const answer = await opts.execute(sql, { params, limits });
      end();
      metrics.queries.inc({ outcome: answer.partial === true ? 'partial' : 'ok' });
      metrics.rows.inc(answer.rows.length);
      if (wantsNdjson(req)) {
        void reply.type('application/x-ndjson');
        return reply.send(Readable.from(ndjsonLines(answer)));
      }
      return { columns: answer.columns, rows: answer.rows, ...(answer.partial === true ? { partial: true, failed: answer.failed ?? [] } : {}) };
    },
  );
}
