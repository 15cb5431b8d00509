/**
 * The shared secret between cluster routers and data nodes (`LMJ_EDGE_CLUSTER_TOKEN`):
 * routers send it as `authorization: Bearer`, nodes compare SHA-256 digests in constant
 * time. Unset, nodes bind loopback only and accept any caller on this machine.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { LmjError } from '../../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Throws UNAUTHORIZED unless `authorization` carries `token` (no-op without a token). */
export function checkClusterToken(token: string | undefined, authorization: unknown): void {
  if (token === undefined) return;
  const m = typeof authorization === 'string' ? /^Bearer ([^\s]{1,512})$/.exec(authorization) : null;
  if (m === null || !timingSafeEqual(digest(m[1] ?? ''), digest(token))) throw new LmjError('UNAUTHORIZED', 'missing or wrong cluster token');
}
