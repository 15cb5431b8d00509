/**
 * Keep-alive HTTP connection pools (undici) of a cluster router, one per origin (a data
 * node or a group router), created on first use and closed with the router.
 */
import { Pool } from 'undici';
import { LmjError } from '../../errors.js';
import { tlsFailure } from '../../http/tls-failure.js';
import type { PeerTls } from '../../http/tls-listener.js';

/** A JSON answer of a peer. */
export interface PeerAnswer {
  status: number;
  json: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Pools by origin. */
export class HttpPools {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly timeoutMs: number,
    private readonly tls?: PeerTls,
  ) {}

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (p === undefined) {
      p = new Pool(origin, {
        connections: 8,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: Math.min(this.timeoutMs, 5000),
        ...(this.tls === undefined ? {} : { connect: { ...this.tls } }),
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** One request; throws NODE_UNAVAILABLE when the peer cannot be reached or answers no JSON, PEER_TLS when its certificate does not verify. */
  async request(origin: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: Buffer): Promise<PeerAnswer> {
    let status: number;
    let text: string;
    let resHeaders: Record<string, string | string[] | undefined>;
    try {
      const res = await this.pool(origin).request({ path, method, headers, ...(body === undefined ? {} : { body }), headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      status = res.statusCode;
      resHeaders = res.headers;
      text = await res.body.text();
    } catch (cause) {
      const tls = tlsFailure(cause);
      if (tls !== undefined) {
        throw new LmjError('PEER_TLS', `TLS handshake with ${origin} failed: ${tls}: ${(cause as Error).message} (check the router's --upstream-ca)`, { cause, details: { peer: origin, reason: tls } });
      }
      throw new LmjError('NODE_UNAVAILABLE', `cannot reach ${origin}: ${(cause as Error).message}`, { cause, details: { peer: origin } });
    }
    try {
      return { status, json: JSON.parse(text) as unknown, headers: resHeaders };
    } catch {
      throw new LmjError('NODE_UNAVAILABLE', `${origin} answered ${status} without JSON`, { details: { peer: origin, status } });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }
}
