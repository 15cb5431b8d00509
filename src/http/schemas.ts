/** JSON schemas of the HTTP API's parameters (fastify validates and coerces them). */

const deviceId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' } as const;
const hexCursor = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[0-9a-fA-F]+$' } as const;
const limit = { type: 'integer', minimum: 1, maximum: 1000 } as const;
const time = { type: 'integer', minimum: 0, maximum: 281474976710655 } as const;

export const deviceParams = {
  type: 'object',
  required: ['id'],
  properties: { id: deviceId },
} as const;

export const entityParams = {
  type: 'object',
  required: ['id', 'ptr'],
  properties: { id: deviceId, ptr: { type: 'string', minLength: 34, maxLength: 34, pattern: '^[0-9a-fA-F]{34}$' } },
} as const;

export const listQuery = {
  type: 'object',
  properties: { limit, cursor: { type: 'string', minLength: 1, maxLength: 256 } },
  additionalProperties: false,
} as const;

export const readingsQuery = {
  type: 'object',
  properties: {
    from: time,
    to: time,
    limit,
    cursor: hexCursor,
    fields: { type: 'string', minLength: 1, maxLength: 8192 },
    order: { type: 'string', enum: ['asc', 'desc'] },
  },
  additionalProperties: false,
} as const;

/** Parsed `?limit=&cursor=`. */
export interface ListQuery {
  limit?: number;
  cursor?: string;
}

/** Parsed readings query string. */
export interface ReadingsQueryString {
  from?: number;
  to?: number;
  limit?: number;
  cursor?: string;
  fields?: string;
  order?: 'asc' | 'desc';
}
