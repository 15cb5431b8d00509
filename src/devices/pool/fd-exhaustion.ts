/**
 * Running out of file descriptors (EMFILE/ENFILE) while opening an instance: the pool
 * closes an idle instance and tries again a few times before it reports the failure
 * (./pool.ts), since sockets and other files share the process's limit.
 */

/** Opens of one acquisition that may hit the fd limit before the failure is reported. */
export const MAX_FD_RETRIES = 8;
const FD_EXHAUSTED = /\b(EMFILE|ENFILE)\b|too many open files/i;

/** True when `error` (or a cause) says the process or system ran out of file descriptors. */
export function isFdExhaustion(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, errno, message } = e as { code?: unknown; errno?: unknown; message?: unknown };
    if (code === 'EMFILE' || code === 'ENFILE' || code === 24 || code === 23 || errno === -24 || errno === -23) return true;
    if (typeof message === 'string' && FD_EXHAUSTED.test(message)) return true;
  }
  return false;
}
