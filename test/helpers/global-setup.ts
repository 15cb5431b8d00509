/**
 * Runs once before the suite: checks that the real programs the tests talk to are
 * present (scripts/setup-test-deps.sh installs them)  Fails with a clear message instead of skipping.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  const missing = ['mdb_stat', 'mdb_dump', 'mosquitto', 'strace', 'etcd', 'etcdctl', 'chromium', 'openssl'].filter((bin) => {
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
}
