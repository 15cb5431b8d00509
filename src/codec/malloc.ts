/**
 * glibc malloc settings and statistics through the addon (native/src/malloc-tune.cc;
 * docs/daemon.md, *Memory*). Without the addon or off glibc, tuning reports false and the
 * statistics are undefined: callers carry on with the allocator's defaults.
 */
import { loadAddon } from './addon.js';

/** mallinfo2's totals, bytes. */
export interface MallocStats {
  /** Bytes the arenas took from the system (main heap and thread heaps). */
  heap: number;
  /** Of those, in allocated blocks. */
  inUse: number;
  /** Of those, free blocks malloc keeps (fragmentation and cached space). */
  free: number;
  /** Blocks served by their own mmap (returned to the system when freed). */
  mmapped: number;
}

/** What the daemon sets (0 leaves a setting to glibc). */
export interface MallocSettings {
  /** Allocations from this size on get their own mapping, KiB (fixed: glibc's adaptive raise is off). */
  mmapThresholdKb: number;
  /** Most malloc arenas (threads share them past this). */
  arenas: number;
}

interface MallocAddon {
  mallocTune?: (thresholdBytes: number, arenas: number) => boolean;
  mallocStats?: () => [number, number, number, number] | undefined;
  mallocTrim?: () => boolean;
}

let addon: MallocAddon | undefined | null = null;

function malloc(): MallocAddon | undefined {
  if (addon === null) {
    try {
      addon = loadAddon() as MallocAddon;
    } catch {
      addon = undefined;
    }
  }
  return addon;
}

/** Applies the settings to this process's allocator; false when they could not be applied (not glibc, no addon). */
export function tuneMalloc(s: MallocSettings): boolean {
  if (s.mmapThresholdKb === 0 && s.arenas === 0) return true;
  const tune = malloc()?.mallocTune;
  return typeof tune === 'function' && tune(s.mmapThresholdKb * 1024, s.arenas);
}

/** The allocator's totals now, or undefined off glibc / without the addon. */
export function mallocStats(): MallocStats | undefined {
  const stats = malloc()?.mallocStats;
  const v = typeof stats === 'function' ? stats() : undefined;
  return v === undefined ? undefined : { heap: v[0], inUse: v[1], free: v[2], mmapped: v[3] };
}

/** Returns malloc's free pages to the system (malloc_trim(0)); true when some were released. */
export function trimMalloc(): boolean {
  const trim = malloc()?.mallocTrim;
  return typeof trim === 'function' && trim();
}
