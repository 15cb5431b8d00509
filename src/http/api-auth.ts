/**
 * API-token authentication of the HTTP API: one fastify `onRequest` hook, used by the
 * gateway and both routers, in front of every route.
 *
 * When tokens are required (see {@link tokenRequired}: a tokens file is given, unless
 * `loopbackOpen` and the configured listen address is loopback), a request carries
 * `authorization: Bearer <token>` and the route's scope decides ({@link routeAccess}):
 * - public: `GET /healthz` only (liveness probes);
 * - read: every other GET/HEAD (devices, readings, latest, dashboard, events, metrics,
 *   sync and retention status, routing) and `POST /query` (SQL is read-only);
 * - admin: `GET /deadletters` and every other method (retention runs, cluster commands);
 *   a route not listed here that changes something is admin by this rule.
 * Unknown routes need a token too (401 before 404), so nothing reveals which exist.
 *
 * Browsers cannot send a header on page loads or EventSource, so for the dashboard a
 * GET/HEAD may carry the token in the `lmj_token` cookie instead: opening
 * `/?token=<token>` checks it, sets that cookie (HttpOnly, SameSite=Strict, Secure over
 * HTTPS) and redirects to `/`. Other methods accept only the header, so a cookie can
 * never drive an admin write from another site.
 *
 * Missing token → 401 TOKEN_MISSING, wrong or revoked → 401 TOKEN_INVALID, read token on
 * an admin route → 403 INSUFFICIENT_SCOPE; each counted in `lmj_http_auth_denied_total{reason}`.
 * 401s count as failures of the remote address: past the limit (10 a minute by default)
 * it gets 429 AUTH_RATE_LIMITED with `retry-after`, even with a good token, until the
 * window ends. Without a tokens file no token is checked, which the processes allow on a
 * loopback listener only ({@link assertApiListener}).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { LmjError } from '../errors.js';
import type { ApiPrincipal, ApiScope, ApiTokens } from './api-tokens.js';
import { AuthFailureLimiter, type AuthRateLimit } from './auth-rate-limit.js';
import { errorBody } from './errors.js';
import { isLoopback } from './loopback.js';

/** Options of {@link installApiAuth}. */
export interface ApiAuthOptions {
  /** The configured listen address (not the peer's): decides whether tokens are required. */
  listenHost: string;
  /** The loaded tokens file; undefined = no tokens (loopback listeners only). */
  tokens: ApiTokens | undefined;
  /** With tokens on a loopback listener: answer without a token anyway. */
  loopbackOpen?: boolean;
  /** Where `lmj_http_auth_denied_total` is registered (the process's registry). */
  registry: Registry;
  /** Route URLs (as registered) that authenticate themselves, e.g. the router's gateway uploads. */
  exempt?: readonly string[];
  rateLimit?: AuthRateLimit;
}

/** What a route needs. */
export type RouteAccess = 'public' | ApiScope;

/** Why a request was refused (the `reason` label). */
export type AuthDenyReason = 'missing' | 'invalid' | 'scope' | 'rate_limited';

/** GET routes that only admin tokens may read. */
const ADMIN_READS = new Set(['/deadletters']);
/** Non-GET routes that only read. */
const READ_POSTS = new Set(['/query']);

/** Whether requests must carry a token: a function of the configuration only, never of the peer. */
export function tokenRequired(listenHost: string, hasTokens: boolean, loopbackOpen = false): boolean {
  if (!hasTokens) return false;
  return !(loopbackOpen && isLoopback(listenHost));
}

/** Throws BAD_CONFIG when an API would listen beyond this machine without a tokens file. */
export function assertApiListener(listenHost: string, hasTokens: boolean, key: string, flag: string): void {
  if (hasTokens || isLoopback(listenHost)) return;
  throw new LmjError('BAD_CONFIG', `invalid configuration: ${key}: the HTTP API listens on ${listenHost}, beyond this machine: API tokens are required (${flag} FILE, see lmj-edge token create)`, {
    details: { key, source: 'combined', reason: 'non-loopback listener without API tokens' },
  });
}

/** The access a route needs; `url` is the route as registered (undefined: no route matched). */
export function routeAccess(method: string, url: string | undefined): RouteAccess {
  const reading = method === 'GET' || method === 'HEAD';
  if (url === undefined) return 'read';
  if (reading && url === '/healthz') return 'public';
  if (reading) return ADMIN_READS.has(url) ? 'admin' : 'read';
  return READ_POSTS.has(url) && method === 'POST' ? 'read' : 'admin';
}

const principals = new WeakMap<FastifyRequest, ApiPrincipal>();

/** The verified token's owner of a request (undefined when no token was checked). */
export function authOf(req: FastifyRequest): ApiPrincipal | undefined {
  return principals.get(req);
}

/** The cookie that carries a token for the dashboard's page loads and event stream. */
export const TOKEN_COOKIE = 'lmj_token';
const TOKEN_CHARS = /^[A-Za-z0-9._~+/=-]{1,512}$/;

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') return /^Bearer ([^\s]{1,512})$/i.exec(h.trim())?.[1];
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  // Dashboard login link `/?token=…`, then the cookie it sets.
  const q = (req.query as { token?: unknown } | undefined)?.token;
  if (req.routeOptions.url === '/' && typeof q === 'string') return q;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === TOKEN_COOKIE && v !== undefined && TOKEN_CHARS.test(v)) return v;
  }
  return undefined;
}

/** `/?token=…` with a good token: keep it in the cookie and drop it from the address bar. */
function dashboardLogin(req: FastifyRequest, reply: FastifyReply, token: string): FastifyReply | undefined {
  const q = (req.query as { token?: unknown } | undefined)?.token;
  if (req.routeOptions.url !== '/' || q !== token || !TOKEN_CHARS.test(token)) return undefined;
  const secure = req.protocol === 'https' ? '; Secure' : '';
  void reply.code(303).header('set-cookie', `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${secure}`).header('location', '/').send();
  return reply;
}

/** Installs the hook on `app` (before its routes are used); also counts its refusals. */
export function installApiAuth(app: FastifyInstance, opts: ApiAuthOptions): void {
  const { tokens } = opts;
  if (tokens === undefined || !tokenRequired(opts.listenHost, true, opts.loopbackOpen)) return;
  const denied = new Counter({
    name: 'lmj_http_auth_denied_total',
    help: 'HTTP requests refused by API-token authentication, by reason (missing, invalid, scope, rate_limited)',
    labelNames: ['reason'],
    registers: [opts.registry],
  });
  const limiter = new AuthFailureLimiter(opts.rateLimit);
  const exempt = new Set(opts.exempt ?? []);

  const refuse = (reply: FastifyReply, reason: AuthDenyReason, err: LmjError, headers: Record<string, string>): FastifyReply => {
    denied.inc({ reason });
    void reply.code(err.httpStatus).headers(headers).type('application/json').send(errorBody(err));
    return reply;
  };

  app.addHook('onRequest', async (req, reply) => {
    const url = req.routeOptions.url;
    if (url !== undefined && exempt.has(url)) return;
    const access = routeAccess(req.method, url);
    if (access === 'public') return;
    const now = Date.now();
    const peer = req.socket.remoteAddress ?? 'unknown';
    const wait = limiter.blockedFor(peer, now);
    if (wait > 0) {
      return refuse(reply, 'rate_limited', new LmjError('AUTH_RATE_LIMITED', `too many failed authentications from ${peer}; retry in ${wait} s`), { 'retry-after': String(wait) });
    }
    const token = bearer(req);
    const principal = token === undefined ? undefined : tokens.verify(token, now);
    if (principal === undefined) {
      limiter.fail(peer, now);
      const challenge = { 'www-authenticate': 'Bearer realm="lmj-edge"' };
      return token === undefined
        ? refuse(reply, 'missing', new LmjError('TOKEN_MISSING'), challenge)
        : refuse(reply, 'invalid', new LmjError('TOKEN_INVALID'), challenge);
    }
    if (access === 'admin' && principal.scope !== 'admin') {
      return refuse(reply, 'scope', new LmjError('INSUFFICIENT_SCOPE', `token ${principal.name} has scope ${principal.scope}; ${req.method} ${url ?? req.url.split('?')[0]} needs admin`), {});
    }
    principals.set(req, principal);
    return token === undefined ? undefined : dashboardLogin(req, reply, token);
  });
}
