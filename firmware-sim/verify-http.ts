/**
 * Reading source over a running gateway's HTTP API:
 * `GET /devices/{id}/readings?fields=seq,boot&limit=1000[&cursor=…]`, following `next`.
 */
import { LmjError } from '../src/errors.js';
import type { ReadingSource } from './verify.js';

interface Page {
  readings?: { values?: Record<string, unknown> }[];
  next?: string | null;
}

/** A source reading from `baseUrl` (e.g. `http://127.0.0.1:8080`). A 404 device has no readings. */
export function httpReadingSource(baseUrl: string): ReadingSource {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch (cause) {
    throw new LmjError('BAD_CONFIG', `verify --http: not a URL: ${baseUrl}`, { cause, details: { key: 'http' } });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new LmjError('BAD_CONFIG', 'verify --http needs an http:// or https:// URL', { details: { key: 'http' } });
  }
  return {
    async *scan(deviceId: string) {
      let cursor: string | null = null;
      do {
        const url = new URL(`devices/${encodeURIComponent(deviceId)}/readings`, base.href.endsWith('/') ? base : `${base.href}/`);
        url.searchParams.set('fields', 'seq,boot');
        url.searchParams.set('limit', '1000');
        if (cursor !== null) url.searchParams.set('cursor', cursor);
        let res: Response;
        try {
          res = await fetch(url);
        } catch (cause) {
          throw new LmjError('UPSTREAM_FAILED', `verify: cannot reach ${url.origin}`, { cause, details: { url: url.href } });
        }
        if (res.status === 404) return;
        if (!res.ok) {
          const body = (await res.text()).slice(0, 500);
          // The body names the daemon's error code and reason: the message carries it so a failed run says why.
          throw new LmjError('UPSTREAM_FAILED', `verify: ${url.pathname} answered ${res.status}: ${body}`, {
            details: { status: res.status, body },
          });
        }
        const page = (await res.json()) as Page;
        for (const r of page.readings ?? []) yield { seq: r.values?.['seq'], boot: r.values?.['boot'] };
        cursor = typeof page.next === 'string' && (page.readings?.length ?? 0) > 0 ? page.next : null;
      } while (cursor !== null);
    },
    close: async () => undefined,
  };
}
