/** JSON schemas of the dashboard's endpoints (fastify validates and coerces them). */
import { MAX_SERIES_BUCKETS } from '../../core/telemetry/series.js';

const time = { type: 'integer', minimum: 0, maximum: 281474976710655 } as const;

export const seriesParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' } },
} as const;

export const seriesQuery = {
  type: 'object',
  required: ['fields'],
  properties: {
    fields: { type: 'string', minLength: 1, maxLength: 8192 },
    from: time,
    to: time,
    buckets: { type: 'integer', minimum: 1, maximum: MAX_SERIES_BUCKETS },
  },
  additionalProperties: false,
} as const;

export const eventsQuery = {
  type: 'object',
  properties: { watch: { type: 'string', maxLength: 4096, pattern: '^[A-Za-z0-9._,-]*$' } },
  additionalProperties: false,
} as const;

/** Parsed series query string. */
export interface SeriesQueryString {
  fields: string;
  from?: number;
  to?: number;
  buckets?: number;
}

/** Parsed `/events` query string. */
export interface EventsQueryString {
  watch?: string;
}
