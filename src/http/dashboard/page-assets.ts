/**
 * Static files of the web pages (the gateway's dashboard, the router's fleet page): a
 * page's own files from its `public/` directory, the shared styles and chart helpers of
 * ./public, and uPlot from its npm package (gateways are often offline, so nothing is
 * loaded from a CDN). Read once at start; served by {@link registerPage}.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { LmjError } from '../../errors.js';

/** One served file. */
export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

/** The page and the files under /dashboard/assets/. */
export interface PageAssets {
  index: Buffer;
  files: Map<string, Asset>;
}

/** The page loads only its own files; values shown are text, never markup, and this keeps it so. */
const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * `public/` next to the module at `moduleUrl` when run from src/ (tsx, vitest); from
 * dist/ the compiled module sits under dist/src/, and the files stay in src/.
 */
export function publicDir(moduleUrl: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates = [join(here, 'public'), join(here.replace(`${sep}dist${sep}src${sep}`, `${sep}src${sep}`), 'public')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')) || existsSync(join(d, 'app.css')));
  if (found === undefined) throw new LmjError('BAD_CONFIG', `dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

function asset(type: string, body: Buffer): Asset {
  return { type, body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
}

/** `<!-- include NAME -->` in a page: replaced by the shared fragment ./public/NAME at load. */
const INCLUDE = /^([ \t]*)<!-- include ([a-z0-9-]+\.html) -->$/gm;

/**
 * The page with its includes expanded, each fragment's lines indented like the marker;
 * both pages show the same device view, so its markup lives once, beside chart.js.
 */
function expandIncludes(page: string, shared: string): Buffer {
  return Buffer.from(
    page.replace(INCLUDE, (_m, indent: string, name: string) =>
      readFileSync(join(shared, name), 'utf8')
        .replace(/\n$/, '')
        .split('\n')
        .map((line) => (line.length > 0 ? indent + line : line))
        .join('\n'),
    ),
  );
}

/**
 * Reads `index.html` (its includes expanded) and the `scripts` of the page directory
 * `dir`, plus the shared files (app.css, chart.js, uPlot); throws when one is missing (a
 * broken install must not start silently).
 */
export function loadPageAssets(dir: string, scripts: readonly string[]): PageAssets {
  const shared = publicDir(import.meta.url);
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot'));
  const files = new Map<string, Asset>([
    ['app.css', asset(CSS, readFileSync(join(shared, 'app.css')))],
    ['chart.js', asset(JS, readFileSync(join(shared, 'chart.js')))],
    ['uPlot.iife.min.js', asset(JS, readFileSync(join(uplotDir, 'uPlot.iife.min.js')))],
    ['uPlot.min.css', asset(CSS, readFileSync(join(uplotDir, 'uPlot.min.css')))],
  ]);
  for (const s of scripts) files.set(s, asset(JS, readFileSync(join(dir, s))));
  return { index: expandIncludes(readFileSync(join(dir, 'index.html'), 'utf8'), shared), files };
}

/** `GET /` (the page, with its CSP) and `GET /dashboard/assets/:file` on `app`. */
export function registerPage(app: FastifyInstance, assets: PageAssets): void {
  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .send(assets.index),
  );
  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (req, reply) => {
    const found = assets.files.get(req.params.file);
    if (found === undefined) throw new LmjError('NOT_FOUND', `no asset ${req.params.file.slice(0, 80)}`);
    return reply.type(found.type).header('cache-control', 'no-cache').header('etag', found.etag).header('x-content-type-options', 'nosniff').send(found.body);
  });
}
