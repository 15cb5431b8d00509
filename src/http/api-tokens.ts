/**
 * API tokens of the HTTP API (gateway and router): a JSON tokens file, hashed at rest.
 *
 *   {"version": 1, "tokens": [{"name": "grafana", "scope": "read", "hash": "sha256:<hex>", "createdAt": "…"}]}
 *
 * A token is `lmj_` + 256 random bits (base64url); the file keeps only its SHA-256 (a
 * salt or a slow hash adds nothing for a 256-bit random secret), so the file reveals no
 * token. `lmj-edge token create|list|revoke` edits it (written to a temp file, then
 * renamed; mode 0600 when new, else the file's own mode and owner). A running process re-reads the file when it changes, so a revoked
 * token stops working within about a second.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { LmjError } from '../errors.js';
import { writeSecretFile } from './secret-file.js';

/** What a token allows: `read` (devices, readings, queries, dashboard, metrics) or `admin` (also dead letters, retention runs…). */
export type ApiScope = 'read' | 'admin';

/** One entry of the tokens file. */
export interface ApiTokenEntry {
  name: string;
  scope: ApiScope;
  /** `sha256:<64 hex>` of the token. */
  hash: string;
  createdAt: string;
}

/** Who a verified token belongs to. */
export interface ApiPrincipal {
  name: string;
  scope: ApiScope;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const HASH = /^sha256:[0-9a-f]{64}$/;
const TOKEN_PREFIX = 'lmj_';
/** How often a running process looks at the file's mtime, ms. */
const RELOAD_CHECK_MS = 1000;

function badFile(file: string, why: string, cause?: unknown): LmjError {
  return new LmjError('BAD_CONFIG', `API tokens file ${file}: ${why}`, { cause, details: { key: 'http.apiTokensFile', reason: why } });
}

/** The at-rest form of a token. */
export function hashApiToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** A fresh token: `lmj_` + 32 random bytes, base64url. */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Parses the tokens file's text; throws BAD_CONFIG naming the problem. */
export function parseTokensFile(text: string, file: string): ApiTokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw badFile(file, `not valid JSON: ${(cause as Error).message}`, cause);
  }
  const list = (parsed as { tokens?: unknown } | null)?.tokens;
  if ((parsed as { version?: unknown } | null)?.version !== 1 || !Array.isArray(list)) {
    throw badFile(file, 'expected {"version": 1, "tokens": [...]}');
  }
  const names = new Set<string>();
  return list.map((e: unknown, i): ApiTokenEntry => {
    const entry = e as Partial<ApiTokenEntry> | null;
    if (entry === null || typeof entry !== 'object') throw badFile(file, `token ${i} is not an object`);
    const { name, scope, hash, createdAt } = entry;
    if (typeof name !== 'string' || !NAME.test(name)) throw badFile(file, `token ${i}: name must be 1..64 letters, digits, . _ -`);
    if (names.has(name)) throw badFile(file, `duplicate token name ${name}`);
    names.add(name);
    if (scope !== 'read' && scope !== 'admin') throw badFile(file, `token ${name}: scope must be read or admin`);
    if (typeof hash !== 'string' || !HASH.test(hash)) throw badFile(file, `token ${name}: hash must be sha256:<64 hex> (the file never holds a token itself)`);
    return { name, scope, hash, createdAt: typeof createdAt === 'string' ? createdAt : '' };
  });
}

/** Reads the tokens file; a missing file is an empty list when `missingOk`. */
export function readTokensFile(file: string, missingOk = false): ApiTokenEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if (missingOk && (cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw badFile(file, `cannot read it: ${(cause as Error).message}`, cause);
  }
  return parseTokensFile(text, file);
}

/** Writes the whole file atomically (./secret-file.ts: a new file is 0600; an existing one keeps mode and owner). */
export function writeTokensFile(file: string, entries: readonly ApiTokenEntry[]): void {
  writeSecretFile(file, `${JSON.stringify({ version: 1, tokens: entries }, null, 2)}\n`);
}

/** Adds a token named `name` (default `<scope>-<n>`) and returns it: the only time it is seen. */
export function createApiToken(file: string, scope: ApiScope, name?: string): { token: string; entry: ApiTokenEntry } {
  const entries = readTokensFile(file, true);
  const chosen = name ?? nextName(entries, scope);
  if (!NAME.test(chosen)) throw new LmjError('BAD_REQUEST', 'token name must be 1..64 letters, digits, . _ -');
  if (entries.some((e) => e.name === chosen)) throw new LmjError('BAD_REQUEST', `a token named ${chosen} exists; revoke it first`);
  const token = generateApiToken();
  const entry: ApiTokenEntry = { name: chosen, scope, hash: hashApiToken(token), createdAt: new Date().toISOString() };
  writeTokensFile(file, [...entries, entry]);
  return { token, entry };
}

/** Removes the token named `name`; NOT_FOUND when there is none. */
export function revokeApiToken(file: string, name: string): void {
  const entries = readTokensFile(file);
  const rest = entries.filter((e) => e.name !== name);
  if (rest.length === entries.length) throw new LmjError('NOT_FOUND', `no token named ${name} in ${file}`);
  writeTokensFile(file, rest);
}

function nextName(entries: readonly ApiTokenEntry[], scope: ApiScope): string {
  for (let n = 1; ; n++) {
    const candidate = `${scope}-${n}`;
    if (!entries.some((e) => e.name === candidate)) return candidate;
  }
}

/** The loaded tokens of a running process; re-read when the file changes. */
export class ApiTokens {
  private entries: { principal: ApiPrincipal; digest: Buffer }[] = [];
  private stamp = '';
  private checkedAt = 0;

  private constructor(
    readonly file: string,
    private readonly onReloadError: (err: LmjError) => void,
  ) {}

  /** Loads `file` (BAD_CONFIG when unreadable or malformed). A failed later reload keeps the previous tokens. */
  static load(file: string, onReloadError: (err: LmjError) => void = () => {}): ApiTokens {
    const t = new ApiTokens(file, onReloadError);
    t.reload();
    return t;
  }

  private reload(): void {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st === undefined) throw badFile(this.file, 'does not exist (create it with lmj-edge token create)');
    const entries = readTokensFile(this.file);
    this.entries = entries.map((e) => ({ principal: { name: e.name, scope: e.scope }, digest: Buffer.from(e.hash.slice('sha256:'.length), 'hex') }));
    this.stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  }

  private refresh(now: number): void {
    if (now - this.checkedAt < RELOAD_CHECK_MS) return;
    this.checkedAt = now;
    const st = statSync(this.file, { throwIfNoEntry: false });
    const stamp = st === undefined ? 'missing' : `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (stamp === this.stamp) return;
    try {
      this.reload();
    } catch (err) {
      this.stamp = stamp;
      this.onReloadError(err instanceof LmjError ? err : badFile(this.file, String(err)));
    }
  }

  /** Number of tokens loaded. */
  get size(): number {
    return this.entries.length;
  }

  /** The token's owner, or undefined. Compares against every entry in constant time per entry. */
  verify(token: string, now = Date.now()): ApiPrincipal | undefined {
    this.refresh(now);
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: ApiPrincipal | undefined;
    for (const e of this.entries) {
      // No early exit: the time taken does not depend on which entry matched.
      if (timingSafeEqual(digest, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }
}
