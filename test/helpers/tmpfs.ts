/**
 * A tiny tmpfs for disk-full tests: mounted on a fresh directory (needs root, as the
 * test machines and CI run), unmounted and removed when the test finishes. A failed
 * mount fails the test; it is never skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** Mounts a tmpfs of `size` (mount syntax, e.g. `1m`) and returns its directory. */
export function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmj-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs (needs root): ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  onTestFinished(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
