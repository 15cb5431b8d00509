import { describe, expect, it } from 'vitest';
import { mallocStats, trimMalloc, tuneMalloc } from '../../../src/codec/malloc.js';
import { memoryParts, ProcessMetrics } from '../../../src/http/metrics.js';

// The test machines run glibc (Debian): the addon's malloc calls must work there.
describe('glibc malloc through the addon', () => {
  it('applies the daemon settings and refuses a negative one', () => {
    expect(tuneMalloc({ mmapThresholdKb: 128, arenas: 2 })).toBe(true);
    expect(tuneMalloc({ mmapThresholdKb: -1, arenas: 0 })).toBe(false);
    expect(tuneMalloc({ mmapThresholdKb: 0, arenas: 0 })).toBe(true);
  });

  it('counts held blocks below the threshold as in use and one above it as mmapped', () => {
    tuneMalloc({ mmapThresholdKb: 128, arenas: 2 });
    const before = mallocStats()!;
    expect(before.heap).toBeGreaterThan(0);
    expect(before.inUse + before.free).toBe(before.heap);
    // Node allocates ArrayBuffer backing stores with calloc/malloc. 32 MB in blocks below the
    // threshold: a collection during the loop may free earlier garbage, a few MB at most.
    const small = Array.from({ length: 1024 }, () => new Uint8Array(32 * 1024).fill(1));
    const big = new Uint8Array(8 * 1024 * 1024).fill(1);
    const held = mallocStats()!;
    expect(held.inUse - before.inUse).toBeGreaterThanOrEqual(24 * 1024 * 1024);
    expect(held.mmapped - before.mmapped).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(small.length + big.length).toBeGreaterThan(0);
    expect(typeof trimMalloc()).toBe('boolean');
  });

  it('exposes the parts of the process memory on /metrics', async () => {
    const parts = memoryParts();
    for (const k of ['rss_anon', 'rss_file', 'v8_heap_total', 'external', 'malloc_heap', 'malloc_in_use', 'malloc_free', 'malloc_mmapped']) {
      expect(parts[k], k).toBeGreaterThan(0);
    }
    const { body } = await new ProcessMetrics('native').render();
    expect(body).toMatch(/^lmj_process_memory_bytes\{part="rss_anon"\} [1-9]\d*$/m);
    expect(body).toMatch(/^lmj_process_memory_bytes\{part="malloc_in_use"\} [1-9]\d*$/m);
  });
});
