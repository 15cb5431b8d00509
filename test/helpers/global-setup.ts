/**
 * Runs once before the suite: checks that the real programs the tests talk to are
 * present (scripts/setup-test-deps.sh installs them) and that the compiled CLI used
 * by process-level tests exists. Fails with a clear message instead of skipping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export default function setup(): void {
  const missing = ['mdb_stat', 'mdb_dump', 'mosquitto'].filter((bin) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`test prerequisites missing: ${missing.join(', ')}. Run: bash scripts/setup-test-deps.sh (as root) or npm test`);
  }
  if (!existsSync(resolve(ROOT, 'dist/src/cli/main.js'))) {
    throw new Error('dist/ is not built: run "npm run build" (npm test does it for you)');
  }
}
