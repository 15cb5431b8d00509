/**
 * Locating and loading the compiled addon (`lmj_edge_native.node`) through
 * node-gyp-build: `prebuilds/<platform>-<arch>/` first, then `build/Release/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

function isPackageRoot(dir: string): boolean {
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'lmj-edge';
  } catch {
    return false;
  }
}

/** The package root: the nearest ancestor with lmj-edge's package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isPackageRoot(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('lmj-edge package root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Loads the raw addon module; throws the loader's own error (dlopen reason) when absent. */
export function loadAddon(): unknown {
  const load = require('node-gyp-build') as (dir: string) => unknown;
  return load(packageRoot());
}

/**
 * Ends the process at once with `code`, running no exit handler and waiting for no
 * thread (the addon's `_exit`): process.exit() can hang while an lmdb-js commit waits
 * for the JS thread. Without the addon the process kills itself with SIGKILL instead.
 */
export function exitNow(code: number): never {
  try {
    const addon = loadAddon() as { exitNow?: (code: number) => void };
    if (typeof addon.exitNow === 'function') addon.exitNow(code);
  } catch {
    // No addon for this platform: fall through to the signal.
  }
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: the process was killed');
}
