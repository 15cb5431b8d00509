/**
 * After an unclean stop: every instance that was open when it happened is verified
 * (a full page walk in a child process, src/core/verify/) before the pool maps it,
 * and quarantined when the walk finds it corrupt, dies on it or times out. Each
 * suspect is held exclusively meanwhile (its uses wait), the other devices are
 * served at once. All suspects go through one child in turn; a child that dies
 * costs one more for the rest.
 */
import { verifyInstances, type InstanceVerdict } from '../../core/verify/index.js';
import type { DevicePool } from './types.js';

/** A running verification of suspects. */
export interface SuspectCheck {
  /** Resolves when every suspect has its verdict (or the check was aborted). */
  readonly done: Promise<void>;
  /** Stops the walk (shutdown); suspects not judged yet stay suspect for the next start. */
  abort(): void;
}

/** Options of {@link verifySuspects}. */
export interface SuspectCheckOptions {
  /** Per instance (default: the verifier's). */
  timeoutMs?: number;
  /** Each verdict (logs). */
  onVerdict?(deviceId: string, verdict: InstanceVerdict): void;
}

/** Why a verdict quarantines its device, or undefined when it does not. */
function quarantineReason(v: InstanceVerdict): string | undefined {
  if (v.status === 'corrupt') return v.reason;
  // A walk that never ends on a healthy instance is unlikely; one looping on damaged pages is not.
  if (v.status === 'unreadable' && v.timedOut) return `verification timed out: ${v.reason}`;
  return undefined;
}

/** Holds every suspect in `pool` and verifies them; see the file comment. */
export function verifySuspects(pool: DevicePool, suspects: readonly string[], options: SuspectCheckOptions = {}): SuspectCheck {
  const controller = new AbortController();
  const release = new Map<string, { resolve(): void; reject(): void }>();
  const holds: Promise<unknown>[] = [];
  const byDir = new Map<string, string>();
  for (const id of suspects) {
    if (!pool.exists(id)) continue;
    // exclusive() takes its hold synchronously: no use can open the instance before the verdict.
    const held = new Promise<void>((resolve, reject) => release.set(id, { resolve, reject }));
    holds.push(pool.exclusive(id, () => held).catch(() => undefined));
    byDir.set(pool.pathOf(id), id);
  }
  const judged = (dir: string, v: InstanceVerdict): void => {
    const id = byDir.get(dir);
    if (id === undefined) return;
    const reason = quarantineReason(v);
    if (reason !== undefined) pool.quarantine(id, reason);
    options.onVerdict?.(id, v);
    release.get(id)?.resolve();
    release.delete(id);
  };
  const done = (async () => {
    try {
      if (byDir.size > 0) {
        await verifyInstances([...byDir.keys()], {
          signal: controller.signal,
          onVerdict: judged,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        });
      }
    } finally {
      // Not judged (aborted): the hold fails, so the device stays recorded as suspect.
      for (const r of release.values()) r.reject();
      await Promise.all(holds);
    }
  })();
  return { done, abort: () => controller.abort() };
}
