/**
 * How many device instances may be open at once: derived from the process's
 * file-descriptor limit (RLIMIT_NOFILE, read from /proc/self/limits), minus headroom
 * for sockets, logs and the gateway's own stores, divided by the fds one LMDB
 * instance costs.
 */
import { readFileSync } from 'node:fs';

/** File descriptors one open lmdb-js instance costs (data.mdb twice, lock.mdb). */
export const FDS_PER_INSTANCE = 3;
/**
 * Extra descriptors a `fast`-durability instance may hold at any moment: its periodic
 * flush (and its close) fdatasyncs data.mdb through a short-lived descriptor of its
 * own. Under load those flushes overlap, so every open instance can hold one at once.
 */
export const FAST_FLUSH_FDS = 1;

/** Descriptors one open instance may hold at its peak, by durability. */
export function fdsPerInstance(durability: 'safe' | 'fast'): number {
  return FDS_PER_INSTANCE + (durability === 'fast' ? FAST_FLUSH_FDS : 0);
}
/** Upper bound on the derived cap: each open instance also costs a memory map. */
export const MAX_DERIVED_OPEN = 4096;

/**
 * Anonymous memory one open instance holds, KiB, as measured with glibc's mmap threshold
 * fixed (docs/daemon.md, *Memory*): ~180–280 KiB (lmdb-js's 64 KiB write-instruction buffer,
 * ~20 KiB of V8 heap, LMDB's environment and the pages its dirty list and page cache touched).
 */
export const INSTANCE_MEMORY_KIB = 256;

/** The most open instances a memory budget of `budgetMb` holds (at least 1). */
export function memoryMaxOpen(budgetMb: number): number {
  return Math.max(1, Math.floor((budgetMb * 1024) / INSTANCE_MEMORY_KIB));
}

/** The soft RLIMIT_NOFILE of this process, or undefined when it cannot be read (non-Linux). */
export function softFdLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Default headroom: a quarter of the limit, at least 128 fds. */
export function defaultHeadroom(limit: number): number {
  return Math.max(128, Math.floor(limit / 4));
}

/**
 * The default cap on open instances for a given limit: (limit − headroom) / fds per
 * instance, at least 1, at most {@link MAX_DERIVED_OPEN}. Unknown limit → 256.
 */
export function deriveMaxOpen(limit: number | undefined, headroom?: number, fdsPerInstance = FDS_PER_INSTANCE): number {
  if (limit === undefined) return 256;
  const room = limit - (headroom ?? defaultHeadroom(limit));
  return Math.max(1, Math.min(MAX_DERIVED_OPEN, Math.floor(room / fdsPerInstance)));
}
