/**
 * The credentials both routers (single-process and cluster) load at start, and the
 * check of their sync endpoint before a batch body is read: one definition, so the two
 * cannot drift apart on who may upload.
 */
import type { FastifyRequest } from 'fastify';
import { LmjError } from '../errors.js';
import { assertApiListener } from '../http/api-auth.js';
import { ApiTokens } from '../http/api-tokens.js';
import type { Logger } from '../http/logger.js';
import { isLoopback } from '../http/loopback.js';
import { loadGatewayTokens, trustedGateway, type GatewayTokens } from './tokens.js';

/** The files a router takes its credentials from (`--tokens`, `--api-tokens`). */
export interface CredentialFiles {
  tokensFile?: string | undefined;
  apiTokensFile?: string | undefined;
}

/** Gateway tokens (sync uploads) and API tokens (reads, admin), each absent when its file is not given. */
export interface RouterCredentials {
  tokens: GatewayTokens | undefined;
  apiTokens: ApiTokens | undefined;
}

/**
 * Loads the router's credentials; throws BAD_CONFIG when a listener beyond loopback
 * would take uploads or API requests without tokens.
 */
export function loadRouterCredentials(host: string, files: CredentialFiles, log: Logger): RouterCredentials {
  if (files.tokensFile === undefined && !isLoopback(host)) {
    throw new LmjError('BAD_CONFIG', `the router listens on ${host}, beyond this machine: --tokens FILE is required`, { details: { key: 'tokens' } });
  }
  assertApiListener(host, files.apiTokensFile !== undefined, 'apiTokens', '--api-tokens');
  const tokens = files.tokensFile === undefined ? undefined : loadGatewayTokens(files.tokensFile, log);
  const apiTokens = files.apiTokensFile === undefined
    ? undefined
    : ApiTokens.load(files.apiTokensFile, (err) => log.warn({ err: err.message }, 'API tokens file could not be re-read; keeping the tokens loaded before'));
  return { tokens, apiTokens };
}

/**
 * The sync endpoint's `onRequest` hook: refuses while shutting down, authenticates the
 * gateway, and refuses a declared body over the limit before it is read.
 */
export function syncRequestCheck(tokens: GatewayTokens | undefined, maxBatchBytes: number, shuttingDown: () => boolean): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    if (shuttingDown()) throw new LmjError('SHUTTING_DOWN');
    if (tokens === undefined) trustedGateway(req.headers['x-lmj-gateway']);
    else tokens.authenticate(req.headers['x-lmj-gateway'], req.headers.authorization);
    const len = Number(req.headers['content-length'] ?? 0);
    if (len > maxBatchBytes) throw new LmjError('BATCH_TOO_LARGE', `batch of ${len} bytes, limit ${maxBatchBytes}`);
  };
}
