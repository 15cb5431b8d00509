/**
 * Gateway authentication: a JSON tokens file `{"gateways": {"<gateway id>": "<token>"}}`.
 * A request carries `x-lmj-gateway: <id>` and `authorization: Bearer <token>`; tokens
 * are compared as SHA-256 digests in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LmjError } from '../errors.js';

const GATEWAY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Per-gateway tokens. */
export class GatewayTokens {
  private constructor(private readonly byGateway: Map<string, Buffer>) {}

  /** Loads the tokens file; throws BAD_CONFIG naming the problem. */
  static load(file: string): GatewayTokens {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new LmjError('BAD_CONFIG', `tokens file ${file}: ${(cause as Error).message}`, { cause, details: { key: 'tokens' } });
    }
    const gws = (parsed as { gateways?: unknown } | null)?.gateways;
    if (gws === null || typeof gws !== 'object' || Array.isArray(gws)) {
      throw new LmjError('BAD_CONFIG', `tokens file ${file}: expected {"gateways": {"<id>": "<token>"}}`, { details: { key: 'tokens' } });
    }
    const map = new Map<string, Buffer>();
    for (const [id, token] of Object.entries(gws as Record<string, unknown>)) {
      if (!GATEWAY_ID.test(id)) throw new LmjError('BAD_CONFIG', `tokens file ${file}: bad gateway id ${JSON.stringify(id.slice(0, 80))}`);
      if (typeof token !== 'string' || token.length < 16) {
        throw new LmjError('BAD_CONFIG', `tokens file ${file}: token of ${id} must be a string of at least 16 characters`);
      }
      map.set(id, digest(token));
    }
    return new GatewayTokens(map);
  }

  /** The authenticated gateway id; throws UNAUTHORIZED for a missing or wrong id/token. */
  authenticate(gatewayHeader: unknown, authorization: unknown): string {
    const id = typeof gatewayHeader === 'string' ? gatewayHeader : '';
    const m = typeof authorization === 'string' ? /^Bearer ([^\s]{1,512})$/.exec(authorization) : null;
    const want = this.byGateway.get(id);
    // Hash even when the gateway is unknown, so timing does not tell which ids exist.
    const got = digest(m?.[1] ?? '');
    if (m === null || want === undefined || !timingSafeEqual(got, want)) {
      throw new LmjError('UNAUTHORIZED', 'missing or wrong gateway id or token');
    }
    return id;
  }
}

/** Without a tokens file (loopback only): the gateway id header is trusted as given. */
export function trustedGateway(gatewayHeader: unknown): string {
  if (typeof gatewayHeader !== 'string' || !GATEWAY_ID.test(gatewayHeader)) {
    throw new LmjError('UNAUTHORIZED', 'missing or invalid x-lmj-gateway header');
  }
  return gatewayHeader;
}
