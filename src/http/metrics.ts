/**
 * The metrics registry every process starts from (prom-client, one private registry per
 * process so tests can run several in one process): the default process series and
 * `lmj_codec_info`. The gateway and the router each add only their own series, so a
 * process's /metrics never shows another's.
 */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { mallocStats } from '../codec/malloc.js';

/** A process's metrics registry with the shared base series. */
export class ProcessMetrics {
  readonly registry = new Registry();

  constructor(codecKind: string) {
    collectDefaultMetrics({ register: this.registry, prefix: 'lmj_' });
    const info = new Gauge({
      name: 'lmj_codec_info',
      help: 'Codec implementation in use (label kind = native or portable)',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    info.set({ kind: codecKind }, 1);
    new Gauge({
      name: 'lmj_process_memory_bytes',
      help: 'Where the process memory is (part = rss_anon, rss_file, v8_heap_total, v8_heap_used, external, array_buffers, malloc_heap, malloc_in_use, malloc_free, malloc_mmapped)',
      labelNames: ['part'],
      registers: [this.registry],
      collect() {
        for (const [part, bytes] of Object.entries(memoryParts())) this.set({ part }, bytes);
      },
    });
  }

  /** Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * A counter whose monotonic value another object keeps (a runner, a service, a guard):
 * mirrored into the registry at scrape time, so nothing is counted twice on a hot path.
 */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * The parts of this process's memory (docs/daemon.md, *Memory*): resident anonymous and
 * file-backed pages (/proc/self/status), the V8 heap, memory outside it (Buffers and other
 * external allocations), and glibc malloc's totals when available.
 */
export function memoryParts(): Record<string, number> {
  const m = process.memoryUsage();
  const out: Record<string, number> = { v8_heap_total: m.heapTotal, v8_heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers };
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    out['rss_anon'] = kb('RssAnon');
    out['rss_file'] = kb('RssFile') + kb('RssShmem');
  } catch {
    // Not Linux: no /proc split.
  }
  const ms = mallocStats();
  if (ms !== undefined) Object.assign(out, { malloc_heap: ms.heap, malloc_in_use: ms.inUse, malloc_free: ms.free, malloc_mmapped: ms.mmapped });
  return out;
}
