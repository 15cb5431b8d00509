/**
 * The dashboard's static files, read once at start: the page, its script and styles
 * from ./public, and uPlot from its npm package (gateways are often offline, so
 * nothing is loaded from a CDN).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmjError } from '../../errors.js';

/** One served file. */
export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

/** The page and the files under /dashboard/assets/. */
export interface Assets {
  index: Buffer;
  files: Map<string, Asset>;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * ./public next to this module when run from src/ (tsx, vitest); from dist/ the
 * compiled module sits in dist/src/gateway/dashboard/, and the files stay in src/.
 */
function publicDir(): string {
  const candidates = [join(HERE, 'public'), join(HERE, '..', '..', '..', '..', 'src', 'gateway', 'dashboard', 'public')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (found === undefined) throw new LmjError('BAD_CONFIG', `dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

function asset(type: string, body: Buffer): Asset {
  return { type, body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
}

/** Reads every dashboard file; throws when one is missing (a broken install must not start silently). */
export function loadAssets(): Assets {
  const dir = publicDir();
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot'));
  const files = new Map<string, Asset>([
    ['app.js', asset('text/javascript; charset=utf-8', readFileSync(join(dir, 'app.js')))],
    ['app.css', asset('text/css; charset=utf-8', readFileSync(join(dir, 'app.css')))],
    ['uPlot.iife.min.js', asset('text/javascript; charset=utf-8', readFileSync(join(uplotDir, 'uPlot.iife.min.js')))],
    ['uPlot.min.css', asset('text/css; charset=utf-8', readFileSync(join(uplotDir, 'uPlot.min.css')))],
  ]);
  return { index: readFileSync(join(dir, 'index.html')), files };
}
