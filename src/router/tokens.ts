/**
 * Gateway authentication: a JSON tokens file `{"gateways": {"<gateway id>": "sha256:<hex>"}}`
 * holding each gateway token's SHA-256, never the token (`lmj-edge token gateway <id>`
 * adds one). A request carries `x-lmj-gateway: <id>` and `authorization: Bearer <token>`;
 * digests are compared in constant time.
 *
 * Migration: a file written before tokens were hashed holds plain tokens
 * (`"<gateway id>": "<token>"`). On load every plain entry is hashed and the file is
 * rewritten with hashes only (temp file + rename, keeping its mode and owner); when it cannot be
 * rewritten (a read-only /etc), the router runs on the in-memory hashes and says so.
 * A value of exactly `sha256:` + 64 hex digits is taken as a hash.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LmjError } from '../errors.js';
import type { Logger } from '../http/logger.js';
import { writeSecretFile } from '../http/secret-file.js';

const HASHED = /^sha256:[0-9a-f]{64}$/;

/** What {@link GatewayTokens.load} reports about a plain-text file. */
export interface TokensMigration {
  /** Plain tokens hashed and written back. */
  migrated?(count: number): void;
  /** Plain tokens found but the file could not be rewritten (the hashes are used in memory). */
  failed?(count: number, err: Error): void;
}

const GATEWAY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The file's digests by gateway id; plain entries are hashed and the file rewritten. */
function readDigests(file: string, migration: TokensMigration): Map<string, Buffer> {
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
  let plain = 0;
  for (const [id, token] of Object.entries(gws as Record<string, unknown>)) {
    if (!GATEWAY_ID.test(id)) throw new LmjError('BAD_CONFIG', `tokens file ${file}: bad gateway id ${JSON.stringify(id.slice(0, 80))}`);
    if (typeof token !== 'string' || token.length < 16) {
      throw new LmjError('BAD_CONFIG', `tokens file ${file}: token of ${id} must be a string of at least 16 characters`);
    }
    if (HASHED.test(token)) {
      map.set(id, Buffer.from(token.slice('sha256:'.length), 'hex'));
    } else {
      map.set(id, digest(token));
      plain++;
    }
  }
  if (plain > 0) {
    try {
      writeHashed(file, map);
      migration.migrated?.(plain);
    } catch (err) {
      migration.failed?.(plain, err as Error);
    }
  }
  return map;
}

/** Per-gateway tokens. */
export class GatewayTokens {
  private constructor(private readonly byGateway: Map<string, Buffer>) {}

  /** Loads the tokens file, hashing plain entries in place; throws BAD_CONFIG naming the problem. */
  static load(file: string, migration: TokensMigration = {}): GatewayTokens {
    return new GatewayTokens(readDigests(file, migration));
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

function writeHashed(file: string, map: ReadonlyMap<string, Buffer>): void {
  const gateways = Object.fromEntries([...map].map(([id, d]) => [id, `sha256:${d.toString('hex')}`]));
  writeSecretFile(file, `${JSON.stringify({ gateways }, null, 2)}\n`);
}

/** Adds (or replaces) gateway `id`'s token, hashed, in the tokens file (created when missing). */
export function addGatewayToken(file: string, id: string, token: string): void {
  if (!GATEWAY_ID.test(id)) throw new LmjError('BAD_REQUEST', 'gateway id: 1..64 of A-Z a-z 0-9 . _ -');
  if (token.length < 16) throw new LmjError('BAD_REQUEST', 'a gateway token has at least 16 characters');
  let map = new Map<string, Buffer>();
  try {
    map = readDigests(file, {});
  } catch (err) {
    if (((err as LmjError).cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw err;
  }
  map.set(id, digest(token));
  writeHashed(file, map);
}

/** Loads the router's gateway tokens, logging a migration of plain tokens (shared by both routers). */
export function loadGatewayTokens(file: string, log: Logger): GatewayTokens {
  return GatewayTokens.load(file, {
    migrated: (count) => log.warn({ file, count }, 'gateway tokens file held plain tokens: rewritten with their SHA-256 hashes only'),
    failed: (count, err) => log.warn({ file, count, err: err.message }, 'gateway tokens file holds plain tokens and could not be rewritten with hashes; rewrite it (lmj-edge token gateway) or make it writable'),
  });
}

/** Without a tokens file (loopback only): the gateway id header is trusted as given. */
export function trustedGateway(gatewayHeader: unknown): string {
  if (typeof gatewayHeader !== 'string' || !GATEWAY_ID.test(gatewayHeader)) {
    throw new LmjError('UNAUTHORIZED', 'missing or invalid x-lmj-gateway header');
  }
  return gatewayHeader;
}
