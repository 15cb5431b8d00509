/**
 * Atomic rewrites of the credential files (API tokens, gateway tokens): the new content
 * goes to a temp file beside it, gets the existing file's mode and owner (a new file:
 * 0600, the writer's), and is renamed over it. Keeping mode and owner matters when root
 * edits a file a service user must read (`chgrp lmj-edge` + `chmod 0640` once, and every
 * later `token create`/`revoke` keeps it so).
 */
import { chmodSync, chownSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** Replaces `file` with `text` atomically, keeping an existing file's mode and owner. */
export function writeSecretFile(file: string, text: string): void {
  const old = statSync(file, { throwIfNoEntry: false });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  try {
    if (old !== undefined) {
      chmodSync(tmp, old.mode & 0o7777);
      // Only root can give a file away; others already own what they rewrite.
      if (process.getuid?.() === 0) chownSync(tmp, old.uid, old.gid);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
